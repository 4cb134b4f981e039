/** Extracting a checked uploads archive into a staging directory, and settling what it wrote. */
import { chmodSync, lchownSync, lutimesSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { movedBytes } from "../../core/memory.ts";
import { entryKey, TAR_MEMORY } from "./uploads-archive.ts";
import { type Counts, walkTree } from "./uploads-counts.ts";

interface Owner {
  uid: number;
  gid: number;
}

export interface Top {
  mode: number | undefined;
  mtime: Date | undefined;
}

/**
 * Extract a checked archive (summarise() found nothing unsafe) into cwd: modes masked to
 * 0o777 (no setuid, setgid or sticky bit is ever written), owners `owner`'s (as root) or the
 * process', never the archive's. Symlinks are made afterwards, by hand: node-tar refuses a
 * link whose target is (or passes through) another link, so a chain such as
 * `latest -> current -> report.pdf` would not extract; no entry lies beneath a symlink of a
 * checked archive, so none can be written through one. Returns the top entry's mode and mtime
 * (node-tar leaves an existing cwd alone).
 */
export async function extractTree(file: string, cwd: string, owner: Owner | undefined): Promise<Top> {
  const links: Array<{ key: string; target: string; mtime: Date | undefined }> = [];
  let top: Top = { mode: undefined, mtime: undefined };
  await tar.x({
    file,
    cwd,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    maxReadSize: TAR_MEMORY.maxReadSize,
    filter: (_path: string, e: unknown) => {
      const entry = e as tar.ReadEntry;
      if (typeof entry.mode === "number") entry.mode &= 0o777;
      if (entryKey(entry.path) === "." && entry.type === "Directory") top = { mode: entry.mode, mtime: entry.mtime };
      if (entry.type !== "SymbolicLink") return true;
      links.push({ key: entryKey(entry.path), target: entry.linkpath!, mtime: entry.mtime });
      return false;
    },
    onReadEntry: (e: tar.ReadEntry) => movedBytes(e.size ?? 0),
  });
  for (const l of links) {
    const p = join(cwd, l.key);
    symlinkSync(l.target, p);
    if (owner) lchownSync(p, owner.uid, owner.gid);
    if (l.mtime) lutimesSync(p, l.mtime, l.mtime);
  }
  return top;
}

/**
 * After extraction: every entry owned by `owner` (as root) and without setuid/setgid/sticky,
 * whatever node-tar did; the counts of what is there.
 */
export function settle(dir: string, owner: Owner | undefined): Counts {
  return walkTree(dir, (p, st) => {
    if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) lchownSync(p, owner.uid, owner.gid);
    if (!st.isSymbolicLink() && st.mode & 0o7000) chmodSync(p, st.mode & 0o777);
  });
}
