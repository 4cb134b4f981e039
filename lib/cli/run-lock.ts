/**
 * The lock as every script takes it (the CLI's: it tells the operator, by script name, what a
 * dead run was doing and the commands that finish or undo it): held for the whole operation, and when it had to be
 * recovered from a run that died, the operator is told what that run was doing and how to
 * finish or undo it.
 */
import { relative, resolve } from "node:path";
import { listBackups } from "../backup/store.ts";
import { msg } from "../core/i18n/index.ts";
import { type Lock, type LockInfo, type LockOwner, withLock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import { SNAPSHOT_TIERS } from "../core/vocabulary/tiers.ts";
import { interruptedRestore } from "../restore/interrupted.ts";

/**
 * The exact commands that finish or undo a run that died: its own recorded `finish` command,
 * and a rollback to the snapshot it took (one made after it started), if it got that far.
 */
export function recoveryAdvice(dead: LockInfo, snapshots: ReadonlyArray<{ dir: string; time: Date; encrypted?: boolean }>, root: string): string[] {
  const t = msg.restore.runLock;
  // A deploy never restores data: it is finished, or the release that served is deployed again.
  if (dead.script === SCRIPTS.deploy) return [...(dead.finish ? [t.toFinish({ command: dead.finish })] : []), t.deployGoBack];
  if (dead.script === SCRIPTS.migrate) return [t.migrateStatus];
  if (!interruptedRestore(dead)) return [];
  const started = new Date(dead.startedAt).getTime();
  const own = snapshots.filter((s) => s.time.getTime() >= started).sort((a, b) => a.time.getTime() - b.time.getTime())[0];
  // Without its own snapshot it never got past confirming and copying: nothing to finish or undo.
  if (!own) return [t.diedBeforeSnapshot];
  const undo = operatorCommand(SCRIPTS.rollback, ["--backup", relative(root, own.dir), "-y"]);
  return [
    dead.finish ? t.toFinish({ command: dead.finish }) : t.finishAgain({ event: dead.script === SCRIPTS.rollback ? "rollback" : "restore" }),
    (own.encrypted ? t.undoInsteadEncrypted : t.undoInstead)({ command: undo }),
  ];
}

/** --identity and --allow-plaintext as the run was given them, as arguments of a printed command (the key file by absolute path). */
export function inputFlags(o: { identity?: string | undefined; allowPlaintext?: boolean }): string[] {
  return [...(o.identity ? ["--identity", resolve(o.identity)] : []), ...(o.allowPlaintext ? ["--allow-plaintext"] : [])];
}

export function reportRecovered(out: Output, lock: Lock, root: string): void {
  const dead = lock.recoveredFrom;
  if (!dead) return;
  out.warn(msg.restore.runLock.previousDied({ script: dead.script, purpose: dead.purpose, pid: dead.pid, startedAt: dead.startedAt }));
  const snapshots = listBackups(root, { tiers: SNAPSHOT_TIERS }).map((b) => ({
    dir: b.dir,
    time: b.time,
    encrypted: b.manifest.encryption !== undefined,
  }));
  for (const line of recoveryAdvice(dead, snapshots, root)) out.warn(line);
}

export function withRunLock<T>(root: string, who: LockOwner, out: Output, fn: (lock: Lock) => Promise<T>): Promise<T> {
  return withLock(root, who, async (lock) => {
    reportRecovered(out, lock, root);
    return fn(lock);
  });
}
