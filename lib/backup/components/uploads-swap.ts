/**
 * The staged uploads swapped in for the live ones by renames, and the recovery of a swap a
 * killed restore left half done.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ClawError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { BACKUP_ID_SOURCE } from "../../core/vocabulary/backup-id.ts";
import { errorCode } from "./archive-rules.ts";
import { keptTagOf, keptUploadsDir } from "./uploads-kept.ts";

/**
 * Swap the content of `real` for that of `fresh` (a directory inside it) in place: the old
 * entries move into another scratch directory inside it, the new ones move up, the old ones
 * go. The directory itself stays (a link to it stays valid, a mount point too).
 */
export function swapContent(real: string, fresh: string, keepAs?: string): void {
  // Kept: beside the uploads directory (same file system, checked by canKeep), out of the backend's view.
  let old = keepAs ? `${keepAs}.partial` : mkdtempSync(join(real, ".claw-old-"));
  // A .partial left by a killed swap holds live uploads: recoverUploads puts it back first (mkdir refuses).
  if (keepAs) mkdirSync(old, { mode: 0o700 });
  const ours = new Set([basename(fresh), basename(old)]);
  const incoming = readdirSync(fresh);
  if (incoming.some((n) => ours.has(n))) {
    rmdirSync(old);
    rmSync(fresh, { recursive: true, force: true });
    throw new ClawError(msg.components.uploads.scratchNameClash);
  }
  const movedOut: string[] = [];
  try {
    for (const n of readdirSync(real)) {
      if (ours.has(n)) continue;
      renameSync(join(real, n), join(old, n));
      movedOut.push(n);
    }
  } catch (e) {
    try {
      for (const n of movedOut) renameSync(join(old, n), join(real, n));
      rmdirSync(old);
      rmSync(fresh, { recursive: true, force: true });
    } catch {
      throw new ClawError(msg.components.uploads.moveAsidePartly({ code: errorCode(e), old }), { cause: e });
    }
    throw new ClawError(msg.components.uploads.moveAsideUndone({ code: errorCode(e) }), { cause: e });
  }
  if (keepAs) {
    // Complete before anything comes in: a run killed from here on is finished by recoverUploads.
    const st = statSync(real);
    renameSync(old, keepAs);
    // 0700 as every backup is; the live directory keeps its own mode.
    utimesSync(keepAs, st.atime, st.mtime);
    old = keepAs;
  }
  try {
    for (const n of incoming) renameSync(join(fresh, n), join(real, n));
  } catch (e) {
    throw new ClawError(msg.components.uploads.moveInFailed({ real, code: errorCode(e), old }), {
      hint: msg.components.uploads.moveInFailedHint,
      cause: e,
    });
  }
  rmdirSync(fresh);
  if (!keepAs) rmSync(old, { recursive: true, force: true });
}

/** A restore's staging inside the uploads directory, `.claw-restore-<tag>` (group: the tag). */
const RESTORE_STAGING = new RegExp(`^\\.claw-restore-(${BACKUP_ID_SOURCE})$`);

/**
 * Put the uploads back together after a restore killed in swapContent: a move aside that did
 * not finish (`.claw-kept-uploads-<tag>.partial`) is moved back; a swap whose move aside was
 * complete (`.claw-kept-uploads-<tag>` and `.claw-restore-<tag>` both there) is finished. Then
 * any other staging is removed. Returns what it did, for a warning.
 */
export function recoverUploads(real: string): string[] {
  const done: string[] = [];
  const parent = dirname(real);
  for (const n of readdirSync(parent)) {
    if (!keptTagOf(real, n)?.endsWith(".partial")) continue;
    const p = join(parent, n);
    for (const e of readdirSync(p)) renameSync(join(p, e), join(real, e));
    rmdirSync(p);
    done.push(msg.components.uploads.movedBack({ name: n }));
  }
  for (const n of readdirSync(real)) {
    if (!/^\.claw-(restore|old)-/.test(n)) continue;
    // `real` is mounted read-write into the app's containers: what is found there under our
    // names is taken out of their reach (renamed beside it, never followed) and used only when
    // it is a real directory, never a link a container planted (to a host directory, whose
    // entries root would otherwise move into uploads). Its owner proves nothing: a restore
    // gives its staging the uploads' owner.
    const safe = takeOut(real, n);
    if (safe === undefined) {
      done.push(msg.components.uploads.notOurs({ name: n }));
      continue;
    }
    const m = RESTORE_STAGING.exec(n);
    if (m && existsSync(keptUploadsDir(real, m[1]!))) {
      for (const e of readdirSync(safe)) renameSync(join(safe, e), join(real, e));
      rmdirSync(safe);
      done.push(msg.components.uploads.finishedSwap({ name: n }));
    } else rmSync(safe, { recursive: true, force: true });
  }
  return done;
}

/**
 * Moves `real/name` beside `real` (a directory containers cannot write) and returns its new
 * path when it is a real directory; otherwise puts it back and returns undefined. rename(2)
 * moves a link itself, so nothing is followed, and once moved it cannot be swapped for a link.
 */
function takeOut(real: string, name: string): string | undefined {
  const from = join(real, name);
  const safe = join(dirname(real), `.claw-recovering-${process.pid}-${name}`);
  try {
    renameSync(from, safe);
  } catch (e) {
    // On another file system (uploads is a mount point): checked where it is, best effort.
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    return isRealDirectory(from) ? from : undefined;
  }
  if (isRealDirectory(safe)) return safe;
  renameSync(safe, from);
  return undefined;
}

function isRealDirectory(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
}
