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
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
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
import { run } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { movedBytes, releasing } from "../../core/memory.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import { BACKUP_ID_SOURCE, isBackupId } from "../../core/vocabulary/backup-id.ts";
import { type StackModel, serviceByRole } from "../../project/stack.ts";
import type { ComponentRecord } from "../manifest.ts";
import { artifact } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import { errorCode, FILE_TYPES, isRoot, NAME_MAX, PATH_MAX } from "./archive-rules.ts";
import { type Component, type ComponentContext, type Frozen, keptResult, type PreparedRestore, swapping } from "./component.ts";

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
    throw new PreconditionError(msg.components.uploads.cannotInspect({ dir, code: errorCode(e) }));
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    throw new PreconditionError(msg.components.uploads.danglingLink({ dir, code: errorCode(e) }), msg.components.uploads.danglingLinkHint);
  }
  if (!statSync(real).isDirectory())
    throw new PreconditionError(msg.components.uploads.notDirectory({ dir, target: real === dir ? undefined : real }));
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
  const why = msg.components.uploads.unsafe;
  if (path.includes("\0") || linkpath?.includes("\0")) return why.nul;
  // node-tar strips (and in strict mode refuses) Windows roots too: `c:x`, `\\x`.
  if (isAbsolute(path) || path.startsWith("/") || win32.parse(path).root !== "") return why.absolute;
  // node-tar refuses `..` anywhere in a path, also between backslashes.
  if (path.split(/[\\/]/).includes("..")) return why.escapes;
  const segs = path.split("/").filter((s) => s !== "");
  if (segs.some((s) => Buffer.byteLength(s) > NAME_MAX)) return why.nameTooLong({ max: NAME_MAX });
  if (Buffer.byteLength(path) > PATH_MAX || segs.length > MAX_DEPTH) return why.pathTooLong;
  if (type === "Link" || type === "SymbolicLink") {
    if (!linkpath) return why.linkWithoutTarget;
    if (type === "Link" && (isAbsolute(linkpath) || win32.parse(linkpath).root !== "" || linkpath.split(/[\\/]/).includes("..")))
      return why.hardLinkEscapes;
    if (type === "SymbolicLink") {
      // Checked as text, a link could still escape through another link of the archive
      // (`d/a -> ..` then `l -> d/a/../x`). So a link may only point down: relative, no `..`.
      if (isAbsolute(linkpath) || win32.parse(linkpath).root !== "") return why.symlinkAbsolute;
      if (linkpath.split(/[\\/]/).includes("..")) return why.symlinkDotDot;
    }
  }
  if (![...FILE_TYPES, "Directory", "SymbolicLink", "Link"].includes(type)) return why.unsupportedType({ type });
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
  const why = msg.components.uploads.unsafe;
  const relation = (e: tar.ReadEntry, first: boolean): string | undefined => {
    const key = entryKey(e.path);
    if (key === ".") return e.type === "Directory" ? (first ? undefined : why.secondTop) : why.topNotDirectory({ type: e.type });
    if (first) return why.noTopFirst;
    const parent = posix.dirname(key);
    const k = parent === "." ? "Directory" : kinds.get(parent);
    if (k === undefined) return why.parentMissing({ parent: JSON.stringify(parent) });
    if (k !== "Directory") return (k === "SymbolicLink" ? why.beneathSymlink : why.beneathFile)({ parent: JSON.stringify(parent) });
    if (kinds.has(key)) return msg.components.common.inArchiveTwice;
    if (e.type === "Link") {
      const target = kinds.get(entryKey(e.linkpath ?? ""));
      if (target === undefined || !FILE_TYPES.includes(target)) return why.badHardLink;
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
      const reason = unsafeReason(e.path, e.type, e.linkpath) ?? relation(e, first);
      if (reason) unsafe(msg.components.common.entry({ path: JSON.stringify(e.path), why: reason }));
      if (e.type === "Directory") s.dirs++;
      else if (e.type === "SymbolicLink") s.symlinks++;
      else {
        s.files++;
        s.bytes += e.size ?? 0;
      }
    },
  });
  if (index === 0) unsafe(why.empty);
  if (unsafeCount > UNSAFE_KEPT) s.unsafe.push(why.more({ n: unsafeCount - UNSAFE_KEPT }));
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
      // A restore's own working directories at the top (staging beside the live uploads).
      if (d === dir && n.startsWith(".claw-")) continue;
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
  return msg.components.uploads.archivedNothing({ dir, files: live.files, symlinks: live.symlinks, dirs: live.dirs - 1 });
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
  if (typeof counts !== "object" || counts === null || Array.isArray(counts)) throw new InvalidBackupError(msg.components.uploads.noCounts);
  const c = counts as Record<string, unknown>;
  for (const k of COUNT_KEYS) {
    const n = c[k];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InvalidBackupError(msg.components.uploads.countNotWhole({ key: k }));
  }
  return c as Counts;
}

const countsOf = (s: TarSummary): Counts => ({ files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes });

const differing = (got: Counts, want: Counts) => COUNT_KEYS.filter((k) => got[k] !== want[k]);

/** The figures that differ, each with the manifest's. */
const vsManifest = (got: Counts, want: Counts, keys: readonly (typeof COUNT_KEYS)[number][]) =>
  keys
    .map((k) => msg.components.uploads.vsManifest({ count: msg.components.uploads.count({ n: got[k], what: k }), want: want[k] }))
    .join(msg.components.common.listSep);

/**
 * Swap the content of `real` for that of `fresh` (a directory inside it) in place: the old
 * entries move into another scratch directory inside it, the new ones move up, the old ones
 * go. The directory itself stays (a link to it stays valid, a mount point too).
 */
function swapContent(real: string, fresh: string, keepAs?: string): void {
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
/** What follows keptPrefix: the tag, `.partial` while the move aside is unfinished. */
const KEPT_TAG = new RegExp(`^${BACKUP_ID_SOURCE}(\\.partial)?$`);

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

// Named after the uploads directory too: two stacks whose uploads share a parent never touch each other's.
const keptPrefix = (real: string) => `.claw-kept-uploads-${createHash("sha256").update(real).digest("hex").slice(0, 8)}-`;
/** Where the in-place snapshot `tag` of the uploads in `real` is kept: beside it. */
export const keptUploadsDir = (real: string, tag: string) => join(dirname(real), `${keptPrefix(real)}${tagged(tag)}`);
const keptTagOf = (real: string, name: string) => {
  const p = keptPrefix(real);
  return name.startsWith(p) && KEPT_TAG.test(name.slice(p.length)) ? name.slice(p.length) : undefined;
};
function tagged(tag: string): string {
  if (!isBackupId(tag)) throw new ClawError(msg.components.uploads.notATag({ tag: JSON.stringify(tag) }));
  return tag;
}

/** The uploads directory, created as a restore creates it when it is not there. */
function liveUploads(root: string, stack: StackModel): string {
  const dir = uploadsDir(root, stack);
  const real = uploadsRealDir(dir);
  if (real !== undefined) return real;
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o755 });
  const st = statSync(root);
  if (isRoot()) chownSync(dir, st.uid, st.gid);
  return realpathSync(dir);
}

/** The in-place snapshots of the uploads (their tags) and their removal. */
export function keptUploads(root: string, stack: StackModel): string[] {
  const real = uploadsRealDir(uploadsDir(root, stack));
  if (real === undefined) return [];
  return readdirSync(dirname(real)).flatMap((n) => {
    const t = keptTagOf(real, n);
    return t && !t.endsWith(".partial") ? [t] : [];
  });
}
export function dropKeptUploads(root: string, stack: StackModel, tags: readonly string[]): void {
  const real = uploadsRealDir(uploadsDir(root, stack));
  if (real !== undefined) for (const t of tags) rmSync(keptUploadsDir(real, t), { recursive: true, force: true });
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
      tar.c({ cwd: real, portable: false, follow: false, ...TAR_MEMORY, filter: (p) => !/^\.\/\.claw-/.test(p) }, ["."]),
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
    if (rec?.kept) {
      verifyKept(ctx, rec, rec.kept.tag);
      return;
    }
    const want = wantCounts(rec);
    let s: TarSummary;
    try {
      s = await summarise(join(ctx.dir, UPLOADS_FILE));
    } catch (e) {
      throw new InvalidBackupError(msg.components.uploads.notReadable({ file: UPLOADS_FILE, reason: (e as Error).message }));
    }
    if (s.unsafe.length) throw new InvalidBackupError(msg.components.uploads.unsafeEntry({ entry: s.unsafe[0]!, more: s.unsafe.length - 1 }));
    const c = countsOf(s);
    for (const k of differing(c, want))
      throw new InvalidBackupError(msg.components.uploads.archiveHolds({ count: msg.components.uploads.count({ n: c[k], what: k }), want: want[k] }));
  },

  async drill(ctx, rec) {
    if (rec?.kept) return verifyKept(ctx, rec, rec.kept.tag);
    await this.verify(ctx, rec);
    const want = wantCounts(rec);
    const work = newWorkDir(ctx.project.root, "drill-uploads");
    try {
      try {
        await extractTree(join(ctx.dir, UPLOADS_FILE), work, undefined);
      } catch (e) {
        throw new InvalidBackupError(msg.components.uploads.notExtracting({ reason: (e as Error).message }));
      }
      const got = treeCounts(work);
      const bad = differing(got, want);
      if (bad.length) throw new InvalidBackupError(msg.components.uploads.extracted({ figures: vsManifest(got, want, bad) }));
      return msg.components.uploads.drilled({ files: got.files, dirs: got.dirs, symlinks: got.symlinks, bytes: got.bytes });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },

  async check(ctx, rec) {
    await this.verify(ctx, rec);
    uploadsRealDir(uploadsDir(ctx.project.root, ctx.project.stack));
    checked.add(rec);
  },

  // Staged beside the live uploads while the backend still runs; restore() swaps it in.
  async prepare(ctx, rec, tag) {
    const kept = typeof rec === "object" && rec !== null ? rec.kept : undefined;
    // Every entry read again right before writing, unless check() just did so for this very record.
    if (!kept && !checked.has(rec)) await uploads.verify(ctx, rec);
    const want = wantCounts(rec);
    const file = join(ctx.dir, UPLOADS_FILE);
    const real = liveUploads(ctx.project.root, ctx.project.stack);
    const st = statSync(real);
    const owner = isRoot() ? { uid: st.uid, gid: st.gid } : undefined;
    for (const m of recoverUploads(real)) ctx.out.warn(msg.components.uploads.halfSwapped({ what: m }));
    const fresh = join(real, `.claw-restore-${tag}`);
    mkdirSync(fresh, { mode: 0o700 });
    const discard = async () => rmSync(fresh, { recursive: true, force: true });
    let top: Top;
    try {
      top = kept ? await copyKept(keptUploadsDir(real, kept.tag), fresh) : await extractTree(file, fresh, owner);
    } catch (e) {
      await discard();
      if (e instanceof ClawError) throw e;
      throw new ClawError(msg.components.uploads.extractionFailed({ reason: (e as Error).message }));
    }
    let got: Counts;
    try {
      got = settle(fresh, owner);
    } catch (e) {
      await discard();
      throw new ClawError(msg.components.uploads.settleFailed({ code: errorCode(e) }));
    }
    const bad = differing(got, want);
    if (bad.length) {
      await discard();
      throw new InvalidBackupError(msg.components.uploads.extractedUntouched({ figures: vsManifest(got, want, bad) }));
    }
    const ready: StagedUploads = { ref: fresh, tag, discard, real, top };
    return ready;
  },

  // In place only when what it replaces can be moved beside the uploads directory by renames.
  canKeep(ctx) {
    const dir = uploadsDir(ctx.project.root, ctx.project.stack);
    const real = uploadsRealDir(dir);
    return real === undefined || statSync(real).dev === statSync(dirname(real)).dev;
  },

  ...swapping(
    (ctx, rec, tag) => uploads.prepare!(ctx, rec, tag),
    (_ctx, _rec, ready, keep) => swapIn(ready, keep),
  ),

  async unmoved(ctx, rec) {
    if (!rec.kept || rec.kept.moved) return false;
    const real = uploadsRealDir(uploadsDir(ctx.project.root, ctx.project.stack));
    return real === undefined || !existsSync(keptUploadsDir(real, rec.kept.tag));
  },
};

/**
 * The staged uploads swapped in for the live ones (renames: the backend is stopped). `keep`:
 * what they replace stays beside the uploads directory as the in-place snapshot, its counts
 * recorded now.
 */
async function swapIn(ready: PreparedRestore, keep: boolean): Promise<Frozen> {
  const s = ready as Partial<StagedUploads>;
  if (!s.real || !s.top) throw new ClawError(msg.components.uploads.nothingStaged);
  const { real, top } = s as StagedUploads;
  const keepAs = keep ? keptUploadsDir(real, ready.tag) : undefined;
  let moved = false;
  return {
    get moved() {
      return moved;
    },
    record: keptResult(
      ready.tag,
      keep ? { ...treeCounts(real) } : {},
      {},
      `${real}'s content kept in place as ${keepAs} (on the same disk: a snapshot to undo a restore, not a copy elsewhere)`,
    ),
    thaw: async () => undefined,
    swap: async () => {
      swapContent(real, ready.ref, keepAs);
      moved = keep;
      if (top.mode !== undefined) chmodSync(real, top.mode & 0o777);
      if (top.mtime) utimesSync(real, top.mtime, top.mtime);
    },
  };
}

/** A copy of an in-place snapshot into the staging dir (cp -a: modes, mtimes, links as they are); the top's mode and mtime. */
async function copyKept(kept: string, fresh: string): Promise<Top> {
  let st: Stats;
  try {
    st = statSync(kept);
  } catch {
    throw new InvalidBackupError(msg.components.uploads.keptGone({ kept }), msg.components.common.useAnotherBackup);
  }
  await run({ argv: ["cp", "-a", `${kept}/.`, `${fresh}/`] }, { timeoutMs: DATA_COMMAND_TIMEOUT_MS });
  return { mode: undefined, mtime: st.mtime };
}

/** An in-place snapshot's check: its tree holds what was recorded. */
function verifyKept(ctx: ComponentContext, rec: ComponentRecord, tag: string): string {
  const real = uploadsRealDir(uploadsDir(ctx.project.root, ctx.project.stack));
  const kept = real === undefined ? undefined : keptUploadsDir(real, tag);
  let got: Counts | undefined;
  try {
    if (kept) {
      statSync(kept);
      got = treeCounts(kept);
    }
  } catch {
    got = undefined;
  }
  if (!got && !rec.kept?.moved) return msg.components.common.unmovedAt({ what: kept ?? tag });
  if (!got) throw new InvalidBackupError(msg.components.uploads.keptGone({ kept: kept ?? tag }), msg.components.common.useAnotherBackup);
  const want = wantCounts(rec);
  const bad = differing(got, want);
  if (bad.length)
    throw new InvalidBackupError(
      msg.components.uploads.keptDiffers({
        kept,
        figures: bad
          .map((k) => msg.components.uploads.vsRecorded({ count: msg.components.uploads.count({ n: got![k], what: k }), want: want[k] }))
          .join(msg.components.common.listSep),
      }),
    );
  return msg.components.uploads.keptOk({ kept, files: got.files, dirs: got.dirs, symlinks: got.symlinks, bytes: got.bytes });
}

/** Records check() verified in this run (their artifact checksum-verified, not rewritten since): prepare need not read them again. */
const checked = new WeakSet<object>();

/** What prepare staged (ref: the staging dir): where it goes and the top directory's own mode and mtime. */
interface StagedUploads extends PreparedRestore {
  real: string;
  top: Top;
}
