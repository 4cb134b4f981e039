/**
 * The one restore flow, for `backup.mts --restore`, `rollback.mts` and a failed deploy's
 * database restore (its pre-deploy backup's Postgres, on --restore-db-on-failure or a yes on a
 * TTY), as named phases: key → plan (checks everything, touches nothing) → print the plan →
 * free-space check → stop here on --dry-run → confirm → apply → prove the stack healthy
 * (rollback) → report. The caller holds the lock.
 */
import { hostname } from "node:os";
import { relative } from "node:path";
import { decryptionKey } from "../backup/encryption.ts";
import { type ComponentName, readManifest } from "../backup/manifest.ts";
import { ClawError, FailedWithResult } from "../core/errors.ts";
import { localized, msg, padCells } from "../core/i18n/index.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse } from "../core/prompts.ts";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import { notify } from "../infra/notify.ts";
import { verifyStack } from "../project/health.ts";
import type { Project } from "../project/project.ts";
import { applyRestore } from "./apply.ts";
import { interruptedRestore } from "./interrupted.ts";
import { describePlan, planRestore, planResult } from "./plan.ts";
import { keptInPlace } from "./restore-components.ts";
import { type ComponentResult, type RestoreOutcome, touched, undoCommand } from "./restore-outcome.ts";
import { checkRestoreSpace } from "./space.ts";

export interface RestoreRequest {
  event: "restore" | "rollback";
  dir: string;
  components: readonly ComponentName[];
  snapshotTier: SnapshotTier;
  /** --identity <file>, when given. */
  identity: string | undefined;
  dryRun: boolean;
  yes: boolean;
  /** Prove every service up and healthy and /health through nginx afterwards. */
  verifyStack: boolean;
  /** Accept a plaintext backup although this set-up encrypts (--allow-plaintext). */
  allowPlaintext?: boolean;
  /** The lock this run holds: when it was recovered from a dead rollback/restore, the undo record is left alone. */
  lock?: Lock;
}

/** What a restore flow ended with: its --json result (the plan, for a dry run), for the CLI to print. */
export interface RestoreReport {
  result: Readonly<Record<string, unknown>>;
}

/** Runs the flow; a failure is thrown as FailedWithResult (its result beside the error). */
export async function restoreFlow(project: Project, out: Output, req: RestoreRequest): Promise<RestoreReport> {
  const key = decryptionKey(project.config.encryption, req.identity);
  const plan = await out.step(
    localized((c) => c.restore.flow.checking),
    () => planRestore(project, req.dir, req.components, req.snapshotTier, key, { allowPlaintext: req.allowPlaintext === true }),
  );
  for (const line of describePlan(plan)) out.info(line);
  // Before it is confirmed (and in a dry run): a restore that would fill a disk is refused.
  await checkRestoreSpace(project, plan.manifest, plan.components, keptInPlace({ project, dir: plan.dir, out }, plan.components));
  if (req.dryRun) return { result: planResult(plan) };
  const t = msg.restore.flow;
  const verb = req.event === "rollback" ? t.whatRollback : t.whatRestore;
  const question = (req.event === "rollback" ? t.confirmRollback : t.confirmRestore)({
    components: plan.components.join(", "),
    id: plan.manifest.id,
  });
  await confirmOrRefuse(question, { yes: req.yes, what: verb });
  const finishing = interruptedRestore(req.lock?.recoveredFrom);
  if (finishing) out.info(t.finishingKeepsUndo);
  const outcome = await applyRestore(project, out, plan, { recordUndo: !finishing });
  if (!outcome.error && req.verifyStack) {
    outcome.error = await verifyStack(project, out, { recreate: outcome.definitionsChanged === true }).then(() => undefined, touched);
  }
  return report(project, out, req.event, plan.manifest.id, outcome);
}

/** Results per component, the webhook, the JSON result; a failed restore names its undo and throws. */
export async function report(
  project: Project,
  out: Output,
  event: "restore" | "rollback",
  id: string,
  outcome: RestoreOutcome,
): Promise<RestoreReport> {
  const t = msg.restore.flow;
  for (const [c, r] of Object.entries(outcome.results)) out.info(`${padCells(c, 8)} ${resultLabel(r)}`);
  if (outcome.backendDowntimeMs !== undefined) out.info(t.backendDown({ secs: (outcome.backendDowntimeMs / 1000).toFixed(1) }));
  const failed = Object.entries(outcome.results).find(([, r]) => r === "failed")?.[0];
  await notify(
    project.config.notify.webhookUrl,
    {
      event,
      status: outcome.error ? "failure" : "success",
      host: hostname(),
      backup: id,
      ...(failed ? { failedComponent: failed } : {}),
      ...(outcome.error ? { reason: outcome.error.message } : {}),
      components: outcome.results,
    },
    (m) => out.warn(m),
  );
  const result = {
    ok: !outcome.error,
    backup: id,
    results: outcome.results,
    snapshot: outcome.snapshot,
    ...(outcome.backendDowntimeMs !== undefined ? { backendDowntimeMs: outcome.backendDowntimeMs } : {}),
    phases: out.phases,
    peakRssKB: process.resourceUsage().maxRSS,
    ...(outcome.error ? { error: outcome.error.message } : {}),
  };
  if (outcome.error) {
    if (outcome.snapshot) {
      const snap = relative(project.root, outcome.snapshot);
      out.info(t.stateBefore({ event, snapshot: snap, command: undoCommand(project, snap, readManifest(outcome.snapshot)) }));
    }
    throw new FailedWithResult(
      outcome.error instanceof ClawError ? outcome.error : new ClawError(outcome.error.message, { cause: outcome.error }),
      result,
    );
  }
  out.success(t.done({ event, id }));
  return { result };
}

/** A component's result as the summary shows it (the --json results keep the values). */
function resultLabel(r: ComponentResult): string {
  const labels = msg.restore.flow.results;
  return r === "not reached" ? labels.notReached : labels[r];
}
