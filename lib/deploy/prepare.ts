/**
 * Before a deploy changes anything: preflight (read-only checks) and the plan, from what runs
 * now. A deploy runs it under its lock, a dry run without one.
 */
import { PreconditionError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { composeVariable, type Project } from "../project/project.ts";
import { releaseOf, splitImageRef } from "../project/release.ts";
import { findByRole, interpolate } from "../project/stack.ts";
import { currentRelease, type ReleaseRecord, readLedger } from "./ledger.ts";
import { type DeployFacts, type DeployOptions, planDeploy } from "./plan.ts";
import { checkComposeConfig, checkDisk, checkHooks, checkPorts, checkPullable, type HookName, missingImages } from "./preflight.ts";
import { postgresVolumeExists, roleRunning, servingContainer } from "./running.ts";
import type { TlsPlan } from "./tls.ts";
import { tlsPlanFor } from "./tls-phase.ts";
import { domainResolution } from "./tls-probe.ts";

export interface DeployRequest extends DeployOptions {
  tag: string;
  /** --check-dns: refuse unless the domain resolves only to this host. */
  checkDns?: boolean;
  dryRun: boolean;
  yes: boolean;
  /** For a rollback-release: the release gone back to. */
  target?: ReleaseRecord;
}

/** What runs now, for the plan (reads only). */
async function facts(project: Project, req: DeployRequest, releaseId: string, hooks: HookName[], tls: TlsPlan | undefined): Promise<DeployFacts> {
  const { releases } = readLedger(project.root);
  const current = currentRelease(releases);
  const image = releaseOf(project).image;
  const running = await roleRunning(project);
  const withTag = (x: string) => interpolate(x, (k) => (k === "CLAW_AI_TAG" ? req.tag : composeVariable(project, k)));
  const refs = project.stack.services.filter((s) => s.image && !s.build).map((s) => withTag(s.image!));
  const serving = await servingContainer(project);
  return {
    releaseId,
    image,
    tag: req.tag,
    currentTag: project.config.release.tag ?? "",
    previous: current ? { id: current.id, tag: current.tag } : undefined,
    dataRunning: running("postgres") || (await postgresVolumeExists(project)),
    backendRunning: serving !== undefined,
    runningTag: serving?.image ? splitImageRef(serving.image).tag : undefined,
    tls,
    backupComponents: project.config.deploy.backupComponents,
    missing: await missingImages(refs),
    build: project.stack.services.filter((s) => s.build).map((s) => s.name),
    hooks,
    domain: project.config.deploy.domain,
  };
}

/** --check-dns: the only outside lookup a deploy makes, and only when asked. */
async function checkDns(domain: string | undefined): Promise<void> {
  if (!domain) throw new PreconditionError(msg.deploy.run.checkDnsEmpty, msg.deploy.run.checkDnsEmptyHint);
  const r = await domainResolution(domain);
  if (!r.here) {
    throw new PreconditionError(
      r.resolved.length ? msg.deploy.run.checkDnsElsewhere({ domain, addresses: r.resolved.join(", ") }) : msg.deploy.run.checkDnsNone({ domain }),
      msg.deploy.run.checkDnsHint,
    );
  }
}

/** Preflight (read-only: nothing changes) and the plan; a deploy runs it under its lock, a dry run without one. */
export async function prepareDeploy(project: Project, out: Output, req: DeployRequest, releaseId: string) {
  const t0 = Date.now();
  const compose = project.compose.withEnv({ CLAW_AI_TAG: req.tag });
  const hooks = await out.step(
    localized((t) => t.deploy.run.preflightStep),
    async () => {
      await checkComposeConfig(compose);
      await checkDisk(project, project.config.deploy.minFreeMb);
      await checkPorts(project);
      if (req.checkDns) await checkDns(project.config.deploy.domain);
      return checkHooks(project.root);
    },
  );
  const nginx = findByRole(project.stack, "nginx")?.name;
  // The TLS decision is made here, so its refusals (no domain, no DEPLOY_EMAIL) come before any change.
  const tls = req.skipSsl ? undefined : (await tlsPlanFor(project, nginx)).plan;
  const plan = planDeploy(project.stack, await facts(project, req, releaseId, hooks, tls), req);
  await checkPullable(plan.pull);
  if (req.kind !== "deploy" && plan.pull.some((r) => r.startsWith(`${plan.image}:`))) {
    out.warn(msg.deploy.run.imageGone({ tag: req.tag }));
  }
  return { plan, compose, preflightMs: Date.now() - t0 };
}
