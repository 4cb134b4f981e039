/**
 * The one restore flow, for `backup.mts --restore`, `rollback.mts` and (later) deploy's
 * automatic rollback, as named phases: key → plan (checks everything, touches nothing) →
 * print the plan → stop here on --dry-run → confirm → apply → prove the stack healthy
 * (rollback) → report. The caller holds the lock.
 */
import { hostname } from "node:os";
import { relative } from "node:path";
import { decryptionKey } from "../backup/encryption.ts";
import { type ComponentName, readManifest } from "../backup/manifest.ts";
import type { SnapshotTier } from "../backup/store.ts";
import { ClawError } from "../core/errors.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse } from "../core/prompts.ts";
import { notify } from "../infra/notify.ts";
import { verifyStack } from "../project/health.ts";
import type { Project } from "../project/project.ts";
import { applyRestore, type RestoreOutcome, touched, undoCommand } from "./apply.ts";
import { describePlan, planRestore, planResult } from "./plan.ts";
import { interruptedRestore } from "./run-lock.ts";

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

export async function restoreFlow(project: Project, out: Output, req: RestoreRequest): Promise<number> {
  const key = decryptionKey(project.config.encryption, req.identity);
  const plan = await out.step("checking the backup (manifest and checksums)", () =>
    planRestore(project, req.dir, req.components, req.snapshotTier, key, { allowPlaintext: req.allowPlaintext === true }),
  );
  for (const line of describePlan(plan)) out.info(line);
  if (req.dryRun) {
    out.result(planResult(plan));
    return 0;
  }
  const verb = req.event === "rollback" ? "roll back" : "restore";
  await confirmOrRefuse(
    `${req.event === "rollback" ? "Roll back" : "Restore"} ${plan.components.join(", ")} to ${plan.manifest.id}? Current data will be replaced.`,
    { yes: req.yes, what: verb },
  );
  const finishing = interruptedRestore(req.lock?.recoveredFrom);
  if (finishing) out.info("the undo record (rollback.mts --undo) keeps the snapshot the interrupted run took: the state before it");
  const outcome = await applyRestore(project, out, plan, { recordUndo: !finishing });
  if (!outcome.error && req.verifyStack) {
    outcome.error = await verifyStack(project, out, { recreate: outcome.definitionsChanged === true }).then(() => undefined, touched);
  }
  return report(project, out, req.event, plan.manifest.id, outcome);
}

/** Results per component, the webhook, the JSON result; a failed restore names its undo and throws. */
export async function report(project: Project, out: Output, event: "restore" | "rollback", id: string, outcome: RestoreOutcome): Promise<number> {
  for (const [c, r] of Object.entries(outcome.results)) out.info(`${c.padEnd(8)} ${r}`);
  if (outcome.backendDowntimeMs !== undefined)
    out.info(`backend down for ${(outcome.backendDowntimeMs / 1000).toFixed(1)} s (stopped → healthy again)`);
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
  out.result({
    ok: !outcome.error,
    backup: id,
    results: outcome.results,
    snapshot: outcome.snapshot,
    ...(outcome.backendDowntimeMs !== undefined ? { backendDowntimeMs: outcome.backendDowntimeMs } : {}),
    phases: out.phases,
    peakRssKB: process.resourceUsage().maxRSS,
    ...(outcome.error ? { error: outcome.error.message } : {}),
  });
  if (outcome.error) {
    if (outcome.snapshot) {
      const snap = relative(project.root, outcome.snapshot);
      out.info(`the state before this ${event} is in ${snap}; undo with ${undoCommand(project, snap, readManifest(outcome.snapshot))}`);
    }
    throw outcome.error instanceof ClawError ? outcome.error : new ClawError(outcome.error.message, { cause: outcome.error });
  }
  out.success(`${event} from ${id} done`);
  return 0;
}
