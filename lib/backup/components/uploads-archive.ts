/**
 * Checking an uploads archive before anything extracts it: each entry on its own
 * (unsafeReason) and against the entries before it (summarise), with its counts.
 */
import { isAbsolute, posix, win32 } from "node:path";
import * as tar from "tar";
import { msg } from "../../core/i18n/index.ts";
import { movedBytes } from "../../core/memory.ts";
import { FILE_TYPES, NAME_MAX, PATH_MAX } from "./archive-rules.ts";

/**
 * node-tar reads up to 16 MiB per read and packs 4 files at a time by default; 1 MiB reads
 * one file at a time keep the process small whatever the file sizes (streaming, not buffering).
 */
export const TAR_MEMORY = { maxReadSize: 1 << 20, jobs: 1 } as const;

/** node-tar refuses deeper paths when extracting. */
const MAX_DEPTH = 1024;
/** Only the first few unsafe entries are kept: the first is reported, the count says how many. */
const UNSAFE_KEPT = 20;

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
export const entryKey = (path: string) => {
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
