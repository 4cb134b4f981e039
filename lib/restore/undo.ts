/**
 * The undo record: the snapshot the last rollback or restore took, in backups/undo.json,
 * written the moment that snapshot exists. `rollback.mts --undo` rolls back to it (and, being
 * a rollback itself, records its own snapshot: a second --undo redoes).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { backupsRoot, UNDO_FILE, UNDO_SNAPSHOT } from "../backup/store.ts";
import { InvalidBackupError, UsageError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";

// Defined in the store, whose snapshot retention reads the record too (and never prunes its snapshot).
export { UNDO_FILE };

export interface UndoRecord {
  /** The snapshot directory, relative to the project root. */
  snapshot: string;
  event: "restore" | "rollback";
  /** The backup that was restored. */
  backup: string;
  at: string;
}

export function writeUndo(root: string, snapshotDir: string, event: UndoRecord["event"], backup: string, at: Date): void {
  const file = join(backupsRoot(root), UNDO_FILE);
  const rec: UndoRecord = { snapshot: relative(root, snapshotDir), event, backup, at: at.toISOString() };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readUndo(root: string): UndoRecord {
  const file = join(backupsRoot(root), UNDO_FILE);
  if (!existsSync(file)) throw new UsageError(msg.restore.undo.nothingToUndo, msg.restore.undo.nothingToUndoHint);
  let rec: unknown;
  try {
    rec = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new InvalidBackupError(msg.restore.undo.notReadable({ file: relative(root, file) }), msg.restore.undo.pickYourselfHint);
  }
  const r = rec as Partial<UndoRecord>;
  if (typeof r.snapshot !== "string" || !UNDO_SNAPSHOT.test(r.snapshot)) {
    throw new InvalidBackupError(msg.restore.undo.namesNoSnapshot({ file: relative(root, file) }), msg.restore.undo.pickYourselfHint);
  }
  return r as UndoRecord;
}
