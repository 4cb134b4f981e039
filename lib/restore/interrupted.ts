/** Whether a run that died may have left data half replaced, read from the lock it left. */
import type { LockInfo } from "../core/lock.ts";
import { SCRIPTS } from "../core/vocabulary/scripts.ts";

/** Pure: whether a run that died was a rollback or a restore (one that may have left data half replaced). */
export const interruptedRestore = (dead: LockInfo | undefined): boolean =>
  dead !== undefined && (dead.script === SCRIPTS.backup || dead.script === SCRIPTS.rollback) && /^(rollback|restore)/.test(dead.purpose);
