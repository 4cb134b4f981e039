/**
 * The lock as every script takes it: held for the whole operation, and when it had to be
 * recovered from a run that died, the operator is told what that run was doing and how to
 * finish or undo it.
 */
import { relative } from "node:path";
import { type Lock, type LockOwner, withLock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { listBackups, SNAPSHOT_TIERS } from "../backup/store.ts";

export function reportRecovered(out: Output, lock: Lock, root: string): void {
  const dead = lock.recoveredFrom;
  if (!dead) return;
  out.warn(`a previous ${dead.script} run (${dead.purpose}, pid ${dead.pid}, started ${dead.startedAt}) died before it finished; its lock was recovered`);
  if (/^(rollback|restore)/.test(dead.purpose)) {
    const snap = listBackups(root, { tiers: SNAPSHOT_TIERS })[0];
    out.warn(`to finish it, run the same ${dead.script === "rollback.mts" ? "rollback" : "restore"} again`);
    if (snap) out.warn(`to undo it instead: npx zx scripts/rollback.mts --backup ${relative(root, snap.dir)} -y`);
  }
}

export function withRunLock<T>(root: string, who: LockOwner, out: Output, fn: (lock: Lock) => Promise<T>): Promise<T> {
  return withLock(root, who, async (lock) => {
    reportRecovered(out, lock, root);
    return fn(lock);
  });
}
