/**
 * The deploy's TLS phase: probe (read-only), plan, apply, reload a running nginx when the
 * pair changed, and install the renewal hook and cron line for a certificate certbot renews.
 */
import { baseArgs } from "../commands/compose.ts";
import { nginxReload, nginxTest } from "../commands/nginx.ts";
import { PreconditionError } from "../core/errors.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { containersOf } from "./containers.ts";
import { applyTls, describeTlsPlan, installRenewal, planTls, probeTls, type TlsPlan, wantsRenewal } from "./tls.ts";

/** The TLS decision for this host right now (reads only). */
export async function tlsPlanFor(project: Project, nginxService: string | undefined): Promise<{ plan: TlsPlan; nginxRunning: boolean }> {
  const domain = project.config.deploy.domain;
  if (!domain)
    throw new PreconditionError(
      "no domain for the TLS certificate: DOMAIN (or DEPLOY_DOMAIN) is empty",
      "set DOMAIN in .env.prod, or deploy with --skip-ssl",
    );
  const nginxRunning = nginxService ? (await containersOf(project.compose, nginxService)).some((c) => c.state === "running") : false;
  const probe = await probeTls(project.root, domain);
  const plan = planTls({
    root: project.root,
    domain,
    email: project.config.deploy.email,
    now: new Date(),
    existing: probe.existing,
    certbotInstalled: probe.certbotInstalled,
    domainResolvesHere: probe.domainResolvesHere,
    nginxRunning,
    resolvedTo: probe.resolvedTo,
  });
  return { plan, nginxRunning };
}

/** Apply the TLS plan preflight made (its refusals came before any change). */
export async function tlsPhase(project: Project, out: Output, plan: TlsPlan, o: { nginxService: string | undefined }): Promise<TlsPlan> {
  const nginxRunning = o.nginxService ? (await containersOf(project.compose, o.nginxService)).some((c) => c.state === "running") : false;
  out.info(describeTlsPlan(plan));
  for (const w of plan.warnings) out.warn(w);
  const r = await out.step(`TLS: ${plan.action}`, () => applyTls(project.root, plan, { out }));
  if (r.changed && nginxRunning && o.nginxService) {
    await project.compose.exec(o.nginxService, nginxTest());
    await project.compose.exec(o.nginxService, nginxReload());
    out.info("nginx reloaded with the new certificate");
  }
  if (wantsRenewal(plan) && o.nginxService) {
    const r2 = await installRenewal(
      { root: project.root, domain: plan.domain, composeArgv: baseArgs(project.compose.project), nginxService: o.nginxService },
      { out },
    );
    out.info(`renewal: ${r2.hook}${r2.hookChanged ? " (written)" : ""}; cron line ${r2.cronChanged ? "installed" : "already there"}`);
  }
  return plan;
}
