/**
 * A deploy, under the lock the caller takes first, walking its plan's phases (PHASES in
 * plan.ts, each one's step in PHASE_STEPS, phases.ts): preflight (prepare.ts: nothing changed
 * yet) → ledger "started" → pre-deploy hook → TLS → images → infrastructure → backup →
 * migrations → release config → nginx → rollout (a first deploy: rollout, then nginx) → health
 * → ledger → prune images → post-deploy hook → webhook. A failure once the rollout has changed
 * anything rolls every app service back to the release that served before (failure.ts).
 */
import { msg } from "../core/i18n/index.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { redact } from "../core/secret.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { Project } from "../project/project.ts";
import { failed } from "./failure.ts";
import { appendLedger, type LedgerLine, type PhaseTiming } from "./ledger.ts";
import { announce, type DeployOutcome } from "./outcome.ts";
import { type DeployRun, PHASE_STEPS } from "./phases.ts";
import { applyOrder, type DeployPlan, type PhaseName, phasesShown } from "./plan.ts";

/**
 * The deploy itself, under the lock the caller holds. Returns the outcome; a failed deploy
 * throws after the ledger, the webhook and the rollback are done. Once health has passed the
 * release is committed: what follows (ledger, pruning, post-deploy hook) only warns.
 */
export async function applyDeploy(
  project: Project,
  out: Output,
  plan: DeployPlan,
  compose: ComposeClient,
  lock: Lock,
  preflightMs = 0,
): Promise<DeployOutcome> {
  const r = startRun(project, out, plan, compose, preflightMs);
  const phase = phaseRunner(plan, r.phases, out, (name) => r.record({ phase: name }));
  const { changes, committed } = applyOrder(plan);
  try {
    for (const name of changes) await phase(name, () => PHASE_STEPS[name](r));
  } catch (e) {
    return failed(r, lock, e);
  }
  // Committed: the new release serves and passed its checks.
  for (const name of committed) {
    await phase(name, () => PHASE_STEPS[name](r)).catch((e: Error) => out.warn(msg.deploy.run.afterFailed({ phase: name, reason: e.message })));
  }
  const outcome: DeployOutcome = {
    ok: true,
    releaseId: plan.releaseId,
    tag: plan.tag,
    serving: { tag: plan.tag, releaseId: plan.releaseId },
    result: "succeeded",
    phases: r.phases,
    preDeployBackup: r.backupDir,
    migrationHead: r.migration.after,
    durationMs: Date.now() - r.started,
  };
  await announce(project, out, plan, "success", outcome);
  return outcome;
}

/** The run's shared state, preflight's timing first, and the ledger's "started" line for the release. */
function startRun(project: Project, out: Output, plan: DeployPlan, compose: ComposeClient, preflightMs: number): DeployRun {
  const started = Date.now() - preflightMs;
  const root = project.root;
  const record = (line: Omit<LedgerLine, "id">) => appendLedger(root, { id: plan.releaseId, ...line });
  const previousTag = plan.runningTag;
  record({
    kind: plan.kind,
    tag: plan.tag,
    image: plan.image,
    startedAt: new Date(started).toISOString(),
    result: "started",
    previous: plan.previous?.id ?? null,
    previousTag: previousTag ?? null,
  });
  const hookEnv = {
    CLAW_RELEASE_ID: plan.releaseId,
    CLAW_RELEASE_TAG: plan.tag,
    CLAW_RELEASE_IMAGE: plan.image,
    CLAW_PREVIOUS_TAG: previousTag ?? "",
    CLAW_DEPLOY_KIND: plan.kind,
    CLAW_PROJECT_DIR: root,
  };
  const phases: PhaseTiming[] = [{ name: "preflight", ms: preflightMs, result: "ok" }];
  const migration = { before: null, after: null };
  return { project, out, plan, compose, started, phases, record, hookEnv, backupDir: null, migration, rolled: [], results: [] };
}

type Phase = (name: PhaseName, fn: () => Promise<void>) => Promise<void>;

/** Runs a named phase (or records why the plan skips it), timing it into `phases`. */
function phaseRunner(plan: DeployPlan, phases: PhaseTiming[], out: Output, started: (name: PhaseName) => void): Phase {
  return async (name, fn) => {
    const why = plan.phases.find((p) => p.name === name)?.skip;
    if (why) {
      // The ledger's note in English, the screen's line in the operator's language.
      phases.push({ name, ms: 0, result: "skipped", note: why });
      out.info(msg.deploy.run.phaseSkipped({ phase: name, why: phasesShown(plan).find((p) => p.name === name)?.skip ?? why }));
      return;
    }
    started(name);
    const t0 = Date.now();
    try {
      await fn();
      phases.push({ name, ms: Date.now() - t0, result: "ok" });
    } catch (e) {
      phases.push({ name, ms: Date.now() - t0, result: "failed", note: redact((e as Error).message) });
      throw e;
    }
  };
}
