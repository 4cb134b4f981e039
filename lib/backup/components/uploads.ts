/**
 * Uploads: ./uploads as a tar archive made with the `tar` package: modes and mtimes kept,
 * any file name (spaces, unicode, newlines) survives, symlinks are stored as links and
 * never followed. When ./uploads is itself a symlink (to another disk, say), the directory it
 * points at is what is archived and restored; the link stays as it is.
 * Restore checks every entry before extracting (no absolute paths, no `..`, no link pointing
 * out of the tree, the top entry a directory), extracts into a scratch directory inside the
 * live one and swaps the contents in place. Modes lose setuid, setgid and sticky bits, and
 * owners come from the live directory, never from the archive.
 */
import {
  chmodSync,
  chownSync,
  createWriteStream,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  statSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, posix, resolve, win32 } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { ClawError, InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { movedBytes, releasing } from "../../core/memory.ts";
import { type StackModel, serviceByRole } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import { errorCode, FILE_TYPES, isRoot, NAME_MAX, PATH_MAX } from "./archive-rules.ts";
import type { Component } from "./component.ts";

export const UPLOADS_FILE = "uploads.tar";

/**
 * node-tar reads up to 16 MiB per read and packs 4 files at a time by default; 1 MiB reads
 * one file at a time keep the process small whatever the file sizes (streaming, not buffering).
 */
export const TAR_MEMORY = { maxReadSize: 1 << 20, jobs: 1 } as const;

/** node-tar refuses deeper paths when extracting. */
const MAX_DEPTH = 1024;
/** Only the first few unsafe entries are kept: the first is reported, the count says how many. */
const UNSAFE_KEPT = 20;

/** The host directory bind-mounted as the backend's uploads (./uploads in the compose file). */
export function uploadsDir(root: string, stack: StackModel): string {
  const backend = serviceByRole(stack, "backend");
  const bind = backend.volumes.find((v) => v.type === "bind" && /uploads/.test(v.target));
  return resolve(root, bind?.source ?? "./uploads");
}

/**
 * The directory the uploads really are in: the real path of uploadsDir (through a symlink,
 * relative or absolute), or undefined when nothing is there yet. PreconditionError for a link
 * that does not resolve (dangling, a loop) or something that is not a directory.
 */
export function uploadsRealDir(dir: string): string | undefined {
  try {
    lstatSync(dir);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw new PreconditionError(`uploads: cannot inspect ${dir} (${errorCode(e)})`);
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    throw new PreconditionError(
      `uploads: ${dir} is a symlink that does not resolve (${errorCode(e)}: a loop or a missing target)`,
      "point the link at the uploads directory, or leave uploads out (--skip-uploads)",
    );
  }
  if (!statSync(real).isDirectory()) throw new PreconditionError(`uploads: ${dir}${real === dir ? "" : ` (-> ${real})`} is not a directory`);
  return real;
}

export interface TarSummary {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Entries that would escape the extraction directory or could not be extracted as they are. */
  unsafe: string[];
}

/** Pure: is this archive entry safe to extract under a root? */
export function unsafeReason(path: string, type: string, linkpath: string | undefined): string | undefined {
  if (path.includes("\0") || linkpath?.includes("\0")) return "a NUL byte in the name";
  // node-tar strips (and in strict mode refuses) Windows roots too: `c:x`, `\\x`.
  if (isAbsolute(path) || path.startsWith("/") || win32.parse(path).root !== "") return "absolute path";
  // node-tar refuses `..` anywhere in a path, also between backslashes.
  if (path.split(/[\\/]/).includes("..")) return "path escapes the directory";
  const segs = path.split("/").filter((s) => s !== "");
  if (segs.some((s) => Buffer.byteLength(s) > NAME_MAX)) return `a name longer than ${NAME_MAX} bytes`;
  if (Buffer.byteLength(path) > PATH_MAX || segs.length > MAX_DEPTH) return "a path too long to extract";
  if (type === "Link" || type === "SymbolicLink") {
    if (!linkpath) return "link without target";
    if (type === "Link" && (isAbsolute(linkpath) || win32.parse(linkpath).root !== "" || linkpath.split(/[\\/]/).includes("..")))
      return "hard link escapes the directory";
    if (type === "SymbolicLink") {
      // Checked as text, a link could still escape through another link of the archive
      // (`d/a -> ..` then `l -> d/a/../x`). So a link may only point down: relative, no `..`.
      if (isAbsolute(linkpath) || win32.parse(linkpath).root !== "") return "symlink to an absolute path";
      if (linkpath.split(/[\\/]/).includes("..")) return "symlink with `..` in its target";
    }
  }
  if (![...FILE_TYPES, "Directory", "SymbolicLink", "Link"].includes(type)) return `unsupported entry type ${type}`;
  return undefined;
}

/** Pure: an entry's path as the extraction sees it, relative to the top ("." for the top itself). */
const entryKey = (path: string) => {
  const n = posix.normalize(path).replace(/\/+$/, "");
  return n === "" ? "." : n;
};

/**
 * The archive's entries, counted, each checked on its own (unsafeReason) and against the
 * entries before it, so that what extracts is exactly what was counted: the first entry is
 * the top directory (`./`) and nothing else is the top; every other entry's directory is an
 * earlier directory entry (never a symlink or a file of the archive: no extracting through a
 * link, no directories made up on the way); no entry twice; a hard link only to an earlier
 * regular file.
 */
export async function summarise(file: string): Promise<TarSummary> {
  const s: TarSummary = { files: 0, dirs: 0, symlinks: 0, bytes: 0, unsafe: [] };
  const kinds = new Map<string, string>();
  let index = 0;
  let unsafeCount = 0;
  const unsafe = (what: string) => {
    if (unsafeCount++ < UNSAFE_KEPT) s.unsafe.push(what);
  };
  const relation = (e: tar.ReadEntry, first: boolean): string | undefined => {
    const key = entryKey(e.path);
    if (key === ".") return e.type === "Directory" ? (first ? undefined : "a second top entry") : `the top entry is a ${e.type}, not a directory`;
    if (first) return "the archive does not start with its top directory (./)";
    const parent = posix.dirname(key);
    const k = parent === "." ? "Directory" : kinds.get(parent);
    if (k === undefined) return `its directory ${JSON.stringify(parent)} is not an earlier entry of the archive`;
    if (k !== "Directory") return `beneath ${JSON.stringify(parent)}, a ${k === "SymbolicLink" ? "symlink" : "file"} of the archive`;
    if (kinds.has(key)) return "in the archive twice";
    if (e.type === "Link") {
      const target = kinds.get(entryKey(e.linkpath ?? ""));
      if (target === undefined || !FILE_TYPES.includes(target)) return "a hard link to something that is not an earlier file of the archive";
    }
    kinds.set(key, e.type);
    return undefined;
  };
  await tar.t({
    file,
    maxReadSize: TAR_MEMORY.maxReadSize,
    strict: true,
    onReadEntry: (e) => {
      movedBytes(e.size ?? 0);
      const first = index++ === 0;
      const why = unsafeReason(e.path, e.type, e.linkpath) ?? relation(e, first);
      if (why) unsafe(`${JSON.stringify(e.path)}: ${why}`);
      if (e.type === "Directory") s.dirs++;
      else if (e.type === "SymbolicLink") s.symlinks++;
      else {
        s.files++;
        s.bytes += e.size ?? 0;
      }
    },
  });
  if (index === 0) unsafe("the archive holds no entry, not even its top directory (./)");
  if (unsafeCount > UNSAFE_KEPT) s.unsafe.push(`… and ${unsafeCount - UNSAFE_KEPT} more`);
  return s;
}

type Counts = { files: number; dirs: number; symlinks: number; bytes: number };
const COUNT_KEYS = ["files", "dirs", "symlinks", "bytes"] as const;

/**
 * Walk a tree without following links, counting like summarise() counts the archive; `visit`
 * sees every entry below the top. Entries that vanish during the walk (a live tree) are skipped.
 */
function walkTree(dir: string, visit?: (path: string, st: Stats) => void): Counts {
  const c = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const seen = new Set<string>();
  const walk = (d: string) => {
    c.dirs++;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (e) {
      if (errorCode(e) === "ENOENT") return;
      throw e;
    }
    for (const n of names) {
      const p = join(d, n);
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch (e) {
        if (errorCode(e) === "ENOENT") continue;
        throw e;
      }
      visit?.(p, st);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) c.symlinks++;
      else {
        c.files++;
        // A hard link is stored once with its bytes; its other names carry none.
        const inode = `${st.dev}:${st.ino}`;
        if (!seen.has(inode)) c.bytes += st.size;
        seen.add(inode);
      }
    }
  };
  walk(dir);
  return c;
}

/** What an extracted tree holds, counted like summarise() counts the archive. */
export function treeCounts(dir: string): Counts {
  return walkTree(dir);
}

/** Pure: entries below the top. */
const entriesOf = (c: Counts) => c.files + c.symlinks + Math.max(0, c.dirs - 1);

/** Pure: the failure of a backup whose archive holds nothing while the live directory holds something. */
export function archivedNothing(dir: string, archived: Counts, live: Counts): string | undefined {
  if (entriesOf(archived) > 0 || entriesOf(live) === 0) return undefined;
  return `uploads: the archive of ${dir} holds nothing, but the directory holds ${live.files} files, ${live.symlinks} symlinks and ${live.dirs - 1} directories`;
}

interface Owner {
  uid: number;
  gid: number;
}

interface Top {
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
async function extractTree(file: string, cwd: string, owner: Owner | undefined): Promise<Top> {
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
function settle(dir: string, owner: Owner | undefined): Counts {
  return walkTree(dir, (p, st) => {
    if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) lchownSync(p, owner.uid, owner.gid);
    if (!st.isSymbolicLink() && st.mode & 0o7000) chmodSync(p, st.mode & 0o777);
  });
}

/** The manifest's counts, or InvalidBackupError when the record is not what a backup writes. */
function wantCounts(rec: unknown): Counts {
  const counts = typeof rec === "object" && rec !== null ? (rec as { counts?: unknown }).counts : undefined;
  if (typeof counts !== "object" || counts === null || Array.isArray(counts))
    throw new InvalidBackupError("uploads: the manifest record has no counts");
  const c = counts as Record<string, unknown>;
  for (const k of COUNT_KEYS) {
    const n = c[k];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      throw new InvalidBackupError(`uploads: the manifest's counts.${k} is not a whole number`);
  }
  return c as Counts;
}

const countsOf = (s: TarSummary): Counts => ({ files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes });

const differing = (got: Counts, want: Counts) => COUNT_KEYS.filter((k) => got[k] !== want[k]);

/**
 * Swap the content of `real` for that of `fresh` (a directory inside it) in place: the old
 * entries move into another scratch directory inside it, the new ones move up, the old ones
 * go. The directory itself stays (a link to it stays valid, a mount point too).
 */
function swapContent(real: string, fresh: string): void {
  const old = mkdtempSync(join(real, ".claw-old-"));
  const ours = new Set([basename(fresh), basename(old)]);
  const incoming = readdirSync(fresh);
  if (incoming.some((n) => ours.has(n))) {
    rmdirSync(old);
    rmSync(fresh, { recursive: true, force: true });
    throw new ClawError("uploads: the archive holds an entry named like a scratch directory of this restore; the live uploads are untouched");
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
      throw new ClawError(`uploads: could not move the live uploads aside (${errorCode(e)}); some of them are in ${old}`, { cause: e });
    }
    throw new ClawError(`uploads: could not move the live uploads aside (${errorCode(e)}); they are as they were`, { cause: e });
  }
  try {
    for (const n of incoming) renameSync(join(fresh, n), join(real, n));
  } catch (e) {
    throw new ClawError(`uploads: could not move the restored uploads into ${real} (${errorCode(e)}); the previous ones are in ${old}`, {
      hint: "the snapshot taken before the restore undoes it (see the undo line above)",
      cause: e,
    });
  }
  rmdirSync(fresh);
  rmSync(old, { recursive: true, force: true });
}

export const uploads: Component = {
  name: "uploads",

  async backup(ctx) {
    const dir = uploadsDir(ctx.project.root, ctx.project.stack);
    let real = uploadsRealDir(dir);
    if (real === undefined) {
      mkdirSync(dir, { recursive: true });
      real = realpathSync(dir);
    }
    const live = treeCounts(real);
    await pipeline(
      tar.c({ cwd: real, portable: false, follow: false, ...TAR_MEMORY }, ["."]),
      releasing(),
      createWriteStream(join(ctx.dir, UPLOADS_FILE), { mode: 0o600 }),
    );
    const s = await summarise(join(ctx.dir, UPLOADS_FILE));
    const nothing = archivedNothing(real, countsOf(s), live);
    if (nothing) throw new ClawError(nothing);
    return {
      artifacts: [await artifact(ctx.dir, UPLOADS_FILE)],
      tools: { tar: "node-tar 7" },
      counts: countsOf(s),
      notes: [`${dir}${real === dir ? "" : ` (-> ${real})`} as tar (modes, mtimes and symlinks kept; links never followed)`],
    };
  },

  async verify(ctx, rec) {
    const want = wantCounts(rec);
    let s: TarSummary;
    try {
      s = await summarise(join(ctx.dir, UPLOADS_FILE));
    } catch (e) {
      throw new InvalidBackupError(`uploads: ${UPLOADS_FILE} is not a readable tar archive (${(e as Error).message})`);
    }
    if (s.unsafe.length)
      throw new InvalidBackupError(`uploads: unsafe archive entry ${s.unsafe[0]}${s.unsafe.length > 1 ? ` (${s.unsafe.length - 1} more)` : ""}`);
    const c = countsOf(s);
    for (const k of differing(c, want)) throw new InvalidBackupError(`uploads: archive holds ${c[k]} ${k}, the manifest ${want[k]}`);
  },

  async drill(ctx, rec) {
    await this.verify(ctx, rec);
    const want = wantCounts(rec);
    const work = newWorkDir(ctx.project.root, "drill-uploads");
    try {
      try {
        await extractTree(join(ctx.dir, UPLOADS_FILE), work, undefined);
      } catch (e) {
        throw new InvalidBackupError(`uploads: the archive does not extract cleanly (${(e as Error).message})`);
      }
      const got = treeCounts(work);
      const bad = differing(got, want);
      if (bad.length) throw new InvalidBackupError(`uploads: extracted ${bad.map((k) => `${got[k]} ${k} (manifest ${want[k]})`).join(", ")}`);
      return `extracted into a scratch directory: ${got.files} files, ${got.dirs} directories, ${got.symlinks} symlinks, ${got.bytes} bytes, as in the manifest`;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },

  async check(ctx, rec) {
    await this.verify(ctx, rec);
    uploadsRealDir(uploadsDir(ctx.project.root, ctx.project.stack));
  },

  async restore(ctx, rec) {
    // check() ran before the snapshot; the same checks again here, right before writing.
    await this.verify(ctx, rec);
    const want = wantCounts(rec);
    const file = join(ctx.dir, UPLOADS_FILE);
    const dir = uploadsDir(ctx.project.root, ctx.project.stack);
    let real = uploadsRealDir(dir);
    if (real === undefined) {
      mkdirSync(dirname(dir), { recursive: true });
      mkdirSync(dir, { mode: 0o755 });
      const st = statSync(ctx.project.root);
      if (isRoot()) chownSync(dir, st.uid, st.gid);
      real = realpathSync(dir);
    }
    const st = statSync(real);
    const owner = isRoot() ? { uid: st.uid, gid: st.gid } : undefined;
    const fresh = mkdtempSync(join(real, ".claw-restore-"));
    let top: Top;
    try {
      top = await extractTree(file, fresh, owner);
    } catch (e) {
      rmSync(fresh, { recursive: true, force: true });
      throw new ClawError(`uploads: extraction failed (${(e as Error).message}); the live uploads are untouched`);
    }
    let got: Counts;
    try {
      got = settle(fresh, owner);
    } catch (e) {
      rmSync(fresh, { recursive: true, force: true });
      throw new ClawError(`uploads: could not set owners and modes of the extracted uploads (${errorCode(e)}); the live uploads are untouched`);
    }
    const bad = differing(got, want);
    if (bad.length) {
      rmSync(fresh, { recursive: true, force: true });
      throw new InvalidBackupError(
        `uploads: extracted ${bad.map((k) => `${got[k]} ${k} (manifest ${want[k]})`).join(", ")}; the live uploads are untouched`,
      );
    }
    swapContent(real, fresh);
    if (top.mode !== undefined) chmodSync(real, top.mode & 0o777);
    if (top.mtime) utimesSync(real, top.mtime, top.mtime);
  },
};
