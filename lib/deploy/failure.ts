/**
 * A failed deploy: every service the rollout touched goes back to the release that served,
 * .env.prod names what serves, the ledger gets the result before anything may prompt, and the
 * output says what serves and what to run next. The database goes back only on request (its
 * pre-deploy backup is named in the output).
 */
import { join } from "node:path";
import { FailedWithResult } from "../core/errors.ts";
import { type Catalogue, catalogue, localized, msg } from "../core/i18n/index.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse, isInteractive } from "../core/prompts.ts";
import { redact } from "../core/secret.ts";
import { restoreCommand } from "../migrate/apply.ts";
import { setEnvValue } from "../project/env.ts";
import type { Project } from "../project/project.ts";
import { splitImageRef } from "../project/release.ts";
import { restoreFlow } from "../restore/flow.ts";
import { announce, type DeployOutcome, printSummary } from "./outcome.ts";
import { type DeployRun, rolloutContext } from "./phases.ts";
import type { DeployPlan } from "./plan.ts";
import { type RolloutStep, rollOut } from "./rollout.ts";
import { servingContainer } from "./running.ts";

const EN = catalogue("en");

/** The failure path of applyDeploy: puts back what it can, records and tells, then throws the outcome (the CLI prints it). */
export async function failed(r: DeployRun, lock: Lock, e: unknown): Promise<never> {
  const { project, out, plan } = r;
  const err = e as Error;
  out.error(msg.deploy.run.deployFailed({ tag: plan.tag, reason: err.message }));
  const { rolledBack, changedBack } = await putBack(r);
  // What serves and what to run next: English in the outcome (--json), the operator's language on screen.
  const servingNow = await servingContainer(project);
  const serving = describeServing(servingNow, EN);
  // "rolled-back": services had moved and were put back; a release that never served just "failed".
  const result = rolledBack && changedBack ? "rolled-back" : "failed";
  r.record({ result, finishedAt: new Date().toISOString(), durationMs: Date.now() - r.started, error: redact(err.message), phases: r.phases });
  const nextIn = (c: Catalogue) => nextAfterFailure(c, plan, { rolledBack, touched: r.rolled.length > 0 });
  out.info(msg.deploy.run.servingNow({ serving: describeServing(servingNow, catalogue()) }));
  const dbAdvice = await databaseAfterFailure(project, out, plan, lock, {
    backupDir: r.backupDir,
    headBefore: r.migration.before,
    head: r.migration.after,
  });
  for (const l of dbAdvice) out.warn(l);
  out.info(msg.deploy.run.next({ next: nextIn(catalogue()) }));
  const outcome: DeployOutcome = {
    ok: false,
    releaseId: plan.releaseId,
    tag: plan.tag,
    serving: { tag: serving, releaseId: rolledBack ? plan.previous?.id : undefined },
    result,
    phases: r.phases,
    rolledBack,
    preDeployBackup: r.backupDir,
    migrationHead: r.migration.after,
    error: err.message,
    next: nextIn(EN),
    durationMs: Date.now() - r.started,
  };
  await announce(project, out, plan, "failure", outcome);
  printSummary(out, r.phases, plan);
  // The CLI prints the outcome (one JSON document, also when a database restore ran meanwhile).
  throw new FailedWithResult(e, { ...outcome });
}

/** The services the rollout touched back on the release that served, and .env.prod naming it again. */
async function putBack({ project, out, plan, rolled }: DeployRun): Promise<{ rolledBack: boolean; changedBack: boolean }> {
  const previousTag = plan.runningTag;
  let rolledBack = false;
  let changedBack = false;
  if (rolled.length && previousTag) ({ ok: rolledBack, changed: changedBack } = await autoRollback(project, out, plan, previousTag, rolled));
  // .env.prod names the release that serves, whoever wrote the new tag there.
  if (previousTag && (!rolled.length || rolledBack)) {
    setEnvValue(project.envFile, "CLAW_AI_TAG", previousTag);
    out.info(msg.deploy.run.envReset({ tag: previousTag }));
  }
  return { rolledBack, changedBack };
}

/** Pure: what to run next after a failure, in a catalogue's language. */
function nextAfterFailure(c: Catalogue, plan: DeployPlan, o: { rolledBack: boolean; touched: boolean }): string {
  if (o.rolledBack) return c.deploy.run.nextRolledBack({ tag: plan.tag });
  return o.touched ? c.deploy.run.nextStatus({ previous: plan.previous?.id }) : c.deploy.run.nextUnchanged({ tag: plan.tag });
}

/** What serves, as a line: nginx's target and the image it runs (read from the stack, not assumed). */
function describeServing(s: Awaited<ReturnType<typeof servingContainer>>, c: Catalogue): string {
  if (!s) return c.deploy.run.servingNothing;
  return c.deploy.run.serving({ tag: s.image ? splitImageRef(s.image).tag : "?", container: s.name, running: s.running });
}

/** Roll every service the failed rollout touched back to the previous tag, newest first; every step is tried, errors joined. */
async function autoRollback(
  project: Project,
  out: Output,
  plan: DeployPlan,
  previousTag: string,
  rolled: readonly RolloutStep[],
): Promise<{ ok: boolean; changed: boolean }> {
  const steps = [...rolled].reverse();
  out.warn(msg.deploy.run.rollingBack({ tag: previousTag, services: steps.map((s) => s.service).join(", ") }));
  const back = project.compose.withEnv({ CLAW_AI_TAG: previousTag });
  const errors: Error[] = [];
  let changed = false;
  await out
    .step(
      localized((t) => t.deploy.run.rollbackStep({ tag: previousTag })),
      async () => {
        for (const step of steps) {
          await rollOut(rolloutContext(project, back, out, plan, previousTag, `${plan.releaseId} rollback`), step).then(
            (r) => {
              changed ||= r.changed;
            },
            (e: Error) => {
              errors.push(e);
              out.error(msg.deploy.run.rollbackServiceFailed({ service: step.service, reason: e.message }));
            },
          );
        }
        if (errors.length) throw errors[0];
      },
    )
    .catch(() => undefined);
  return { ok: errors.length === 0, changed };
}

/**
 * When migrations ran and the deploy failed, the schema is the new one. Expand-first
 * migrations leave the old code working; a restore of the pre-deploy backup (which loses every
 * write since) only on --restore-db-on-failure or a yes on a TTY.
 */
async function databaseAfterFailure(
  project: Project,
  out: Output,
  plan: DeployPlan,
  lock: Lock,
  m: { backupDir: string | null; headBefore: string | null; head: string | null },
): Promise<string[]> {
  if (!m.head || m.head === m.headBefore) return [];
  const from = m.headBefore ?? msg.deploy.run.emptyHead;
  if (!m.backupDir) return [msg.deploy.run.migratedNoBackup({ from, to: m.head })];
  const command = restoreCommand(m.backupDir);
  let restore = plan.options.restoreDbOnFailure;
  if (!restore && isInteractive()) {
    restore = await confirmOrRefuse(msg.deploy.run.restoreQuestion({ dir: m.backupDir }), {
      yes: false,
      what: msg.deploy.run.restoreWhat,
    }).then(
      () => true,
      () => false,
    );
  }
  if (!restore) return [msg.deploy.run.migratedRestoreWith({ from, to: m.head, command })];
  try {
    await restoreFlow(project, out, {
      event: "restore",
      dir: join(project.root, m.backupDir),
      components: ["postgres"],
      snapshotTier: "pre-restore",
      identity: undefined,
      dryRun: false,
      yes: true,
      verifyStack: false,
      lock,
    });
    return [msg.deploy.run.databaseRestored({ dir: m.backupDir })];
  } catch (e) {
    return [msg.deploy.run.restoreFailed({ reason: (e as Error).message, command })];
  }
}
