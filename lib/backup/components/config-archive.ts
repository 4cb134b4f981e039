/**
 * Reading a config archive without trusting it (a restore runs as root and writes into the
 * project, so it is never extracted as is): every entry must be one of the files config
 * backups are made of (allowedConfigFile) and a regular file (or a directory holding them),
 * each once and none beneath a file; its bytes are copied into private scratch files named by
 * number, never by the archive's path. The file count is checked against the manifest's.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import type { ComponentRecord } from "../manifest.ts";
import { errorCode, FILE_TYPES, NAME_MAX, PATH_MAX } from "./archive-rules.ts";
import { allowedConfigDir, allowedConfigFile } from "./config-files.ts";

export const CONFIG_FILE = "config.tar";

/**
 * Pure: the project-relative path of a config archive entry, or why it is refused. Leading
 * `./` and trailing slashes are dropped; any other odd segment (`..`, `.`, empty) is refused.
 */
export function configEntryPath(path: string, type: string, composeRel: readonly string[]): { rel: string } | { why: string } {
  if (path.includes("\0")) return { why: msg.components.config.why.nul };
  if (path.startsWith("/")) return { why: msg.components.config.why.absolute };
  const rel = path.replace(/^(\.\/+)+/, "").replace(/\/+$/, "");
  const segs = rel === "" || rel === "." ? [] : rel.split("/");
  if (segs.some((s) => s === "" || s === "." || s === "..")) return { why: msg.components.config.why.oddSegment };
  if (segs.some((s) => Buffer.byteLength(s) > NAME_MAX) || Buffer.byteLength(rel) > PATH_MAX) return { why: msg.components.config.why.tooLong };
  const clean = segs.join("/");
  if (type === "Directory") return allowedConfigDir(clean, composeRel) ? { rel: clean } : { why: msg.components.config.why.notConfigDir };
  if (!FILE_TYPES.includes(type)) return { why: msg.components.config.why.notRegular({ type }) };
  return allowedConfigFile(clean, composeRel) ? { rel: clean } : { why: msg.components.config.why.notConfigFile };
}

/** A file of a checked config archive. */
export interface ConfigArchiveFile {
  rel: string;
  mode: number;
  /** The scratch file holding its bytes (when read with a scratch directory). */
  scratch?: string;
}

/** The entries read so far: each path's kind, and every directory some entry lies beneath. */
interface EntriesSeen {
  kinds: Map<string, "file" | "dir">;
  beneath: Set<string>;
}

/**
 * Why an entry clashes with the ones before it (twice, beneath a file, a file where entries lie
 * beneath), or undefined; an entry that fits is added to `seen`.
 */
function clash(seen: EntriesSeen, rel: string, kind: "file" | "dir"): string | undefined {
  const segs = rel === "" ? [] : rel.split("/");
  for (let i = 1; i < segs.length; i++) {
    const up = segs.slice(0, i).join("/");
    if (seen.kinds.get(up) === "file") return msg.components.config.why.beneathFile;
    seen.beneath.add(up);
  }
  const before = seen.kinds.get(rel);
  if (before === "file" || (before === "dir" && kind === "file")) return msg.components.common.inArchiveTwice;
  if (kind === "file" && seen.beneath.has(rel)) return msg.components.config.why.fileWithEntriesBeneath;
  seen.kinds.set(rel, kind);
  return undefined;
}

/** Scratch files being written while the archive is read: those still open, and the first write error. */
interface ScratchWrites {
  open: Set<number>;
  error: unknown;
}

/** The entry's bytes streamed into a new private scratch file (never an existing one); a failure is kept in `w.error`. */
function copyToScratch(e: tar.ReadEntry, path: string, w: ScratchWrites): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    w.error ??= err;
    return;
  }
  w.open.add(fd);
  e.on("data", (chunk: Buffer) => {
    try {
      if (w.error === undefined) writeSync(fd, chunk);
    } catch (err) {
      w.error = err;
    }
  });
  e.on("end", () => {
    w.open.delete(fd);
    closeSync(fd);
  });
}

/**
 * Read a config archive and check every entry; with a scratch directory, each file's bytes
 * go to a scratch file named by number. InvalidBackupError for an unreadable archive and for
 * the first entry that is refused.
 */
export function readConfigArchive(archive: string, composeRel: readonly string[], scratch?: string): ConfigArchiveFile[] {
  const files: ConfigArchiveFile[] = [];
  const seen: EntriesSeen = { kinds: new Map(), beneath: new Set() };
  const writes: ScratchWrites = { open: new Set(), error: undefined };
  let refused: string | undefined;
  const onEntry = (e: tar.ReadEntry): string | undefined => {
    const r = configEntryPath(e.path, e.type, composeRel);
    if ("why" in r) return r.why;
    const kind = e.type === "Directory" ? "dir" : "file";
    const why = clash(seen, r.rel, kind);
    if (why !== undefined || kind === "dir") return why;
    const f: ConfigArchiveFile = { rel: r.rel, mode: typeof e.mode === "number" ? e.mode : 0o644 };
    files.push(f);
    if (scratch === undefined) return undefined;
    f.scratch = join(scratch, String(files.length));
    copyToScratch(e, f.scratch, writes);
    return undefined;
  };
  try {
    tar.t({
      file: archive,
      sync: true,
      strict: true,
      onReadEntry: (e) => {
        if (refused !== undefined) return;
        const why = onEntry(e);
        if (why !== undefined) refused = msg.components.common.entry({ path: JSON.stringify(e.path), why });
      },
    });
  } catch (e) {
    if (e instanceof ClawError) throw e;
    throw new InvalidBackupError(msg.components.config.notReadable({ file: CONFIG_FILE, code: errorCode(e) }));
  } finally {
    for (const fd of writes.open) closeSync(fd);
  }
  if (refused !== undefined) throw new InvalidBackupError(msg.components.config.refusedEntry({ file: CONFIG_FILE, entry: refused }));
  if (writes.error !== undefined) throw new ClawError(msg.components.config.cannotUnpack({ file: CONFIG_FILE, code: errorCode(writes.error) }));
  return files;
}

/** The manifest's counts.files, or InvalidBackupError when the record is not what a backup writes. */
export function wantFiles(rec: unknown): number {
  const counts = typeof rec === "object" && rec !== null ? (rec as { counts?: unknown }).counts : undefined;
  if (typeof counts !== "object" || counts === null || Array.isArray(counts)) throw new InvalidBackupError(msg.components.config.noCounts);
  const n = (counts as Record<string, unknown>).files;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InvalidBackupError(msg.components.config.filesNotWhole);
  return n;
}

/** Archive checked entry by entry and against the manifest's file count. */
export function checkArchive(archive: string, rec: ComponentRecord, composeRel: readonly string[], scratch?: string): ConfigArchiveFile[] {
  const want = wantFiles(rec);
  const files = readConfigArchive(archive, composeRel, scratch);
  if (files.length !== want) throw new InvalidBackupError(msg.components.config.countDiffers({ files: files.length, want }));
  return files;
}
