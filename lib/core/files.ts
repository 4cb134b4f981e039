/** Files replaced whole: written to a temporary name beside them, fsynced, then renamed over. */
import { randomBytes } from "node:crypto";
import { chownSync, closeSync, fchmodSync, fchownSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Replace `file` with `text` atomically: a reader sees the old content or the new, never
 * half. An existing file keeps its mode and (when we run as root) its owner; a new one gets `mode`.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  let old: { mode: number; uid: number; gid: number } | undefined;
  try {
    old = statSync(file);
  } catch {
    old = undefined;
  }
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      fchmodSync(fd, old ? old.mode & 0o7777 : mode);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (old && process.getuid?.() === 0) chownSync(tmp, old.uid, old.gid);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Create `file` with `text`, never replacing anything: written and fsynced under a temporary
 * name, then hard-linked into place (EEXIST if `file` appeared meanwhile), so no reader ever
 * sees half of it and an existing file is never touched.
 */
export function createFileExclusive(file: string, text: string, mode: number, owner?: { uid: number; gid: number }): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  // Only a temporary file this call created is removed (an EEXIST here would be someone else's).
  const fd = openSync(tmp, "wx", mode);
  try {
    try {
      fchmodSync(fd, mode);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, file);
    fsyncDir(dirname(file));
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A new directory entry survives a power cut once its directory is fsynced. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
