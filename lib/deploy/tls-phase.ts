/**
 * The deploy's TLS phase: probe (read-only), plan, apply, reload a running nginx when the
 * pair changed, and install the renewal hook and cron line for a certificate certbot renews.
 */
import { baseArgs } from "../commands/compose.ts";
import { nginxReload, nginxTest } from "../commands/nginx.ts";
import { PreconditionError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { containersOf } from "./containers.ts";
import { applyTls, describeTlsPlan, planTls, shownTlsPlan, type TlsPlan, wantsRenewal } from "./tls.ts";
import { probeTls } from "./tls-probe.ts";
import { installRenewal } from "./tls-renewal.ts";

/** The TLS decision for this host right now (reads only). */
export async function tlsPlanFor(project: Project, nginxService: string | undefined): Promise<{ plan: TlsPlan; nginxRunning: boolean }> {
  const domain = project.config.deploy.domain;
  if (!domain) throw new PreconditionError(msg.deploy.tlsPhase.noDomain, msg.deploy.tlsPhase.noDomainHint);
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
  const shown = shownTlsPlan(plan);
  out.info(describeTlsPlan(shown));
  for (const w of shown.warnings) out.warn(w);
  const r = await out.step(
    localized((t) => t.deploy.tlsPhase.step({ action: plan.action })),
    () => applyTls(project.root, plan, { out }),
  );
  if (r.changed && nginxRunning && o.nginxService) {
    await project.compose.exec(o.nginxService, nginxTest());
    await project.compose.exec(o.nginxService, nginxReload());
    out.info(msg.deploy.tlsPhase.reloaded);
  }
  if (wantsRenewal(plan) && o.nginxService) {
    const r2 = await installRenewal(
      { root: project.root, domain: plan.domain, composeArgv: baseArgs(project.compose.project), nginxService: o.nginxService },
      { out },
    );
    out.info(msg.deploy.tlsPhase.renewal({ hook: r2.hook, hookChanged: r2.hookChanged, cronChanged: r2.cronChanged }));
  }
  return plan;
}
