/**
 * Uploads: ./uploads as a tar archive made with the `tar` package: modes and mtimes kept,
 * any file name (spaces, unicode, newlines) survives, symlinks are stored as links and
 * never followed. Restore checks every entry before extracting (no absolute paths, no
 * `..`, no link pointing out of the tree), extracts beside the live directory and swaps.
 */
import { chmodSync, chownSync, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, utimesSync } from "node:fs";
import { dirname, isAbsolute, join, posix, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { movedBytes, releasing } from "../../core/memory.ts";
import { type StackModel, serviceByRole } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import type { Component } from "./component.ts";

export const UPLOADS_FILE = "uploads.tar";

/**
 * node-tar reads up to 16 MiB per read and packs 4 files at a time by default; 1 MiB reads
 * one file at a time keep the process small whatever the file sizes (streaming, not buffering).
 */
export const TAR_MEMORY = { maxReadSize: 1 << 20, jobs: 1 } as const;

/** The host directory bind-mounted as the backend's uploads (./uploads in the compose file). */
export function uploadsDir(root: string, stack: StackModel): string {
  const backend = serviceByRole(stack, "backend");
  const bind = backend.volumes.find((v) => v.type === "bind" && /uploads/.test(v.target));
  return resolve(root, bind?.source ?? "./uploads");
}

export interface TarSummary {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Entries that would escape the extraction directory. */
  unsafe: string[];
}

/** Pure: is this archive entry safe to extract under a root? */
export function unsafeReason(path: string, type: string, linkpath: string | undefined): string | undefined {
  if (isAbsolute(path) || path.startsWith("/")) return "absolute path";
  const norm = posix.normalize(path);
  if (norm === ".." || norm.startsWith("../")) return "path escapes the directory";
  if (type === "Link" || type === "SymbolicLink") {
    if (!linkpath) return "link without target";
    if (type === "Link" && (isAbsolute(linkpath) || posix.normalize(linkpath).startsWith("../"))) return "hard link escapes the directory";
    if (type === "SymbolicLink") {
      // Checked as text, a link could still escape through another link of the archive
      // (`d/a -> ..` then `l -> d/a/../x`). So a link may only point down: relative, no `..`.
      if (isAbsolute(linkpath)) return "symlink to an absolute path";
      if (linkpath.split("/").includes("..")) return "symlink with `..` in its target";
    }
  }
  if (!["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"].includes(type)) return `unsupported entry type ${type}`;
  return undefined;
}

export async function summarise(file: string): Promise<TarSummary> {
  const s: TarSummary = { files: 0, dirs: 0, symlinks: 0, bytes: 0, unsafe: [] };
  await tar.t({
    file,
    maxReadSize: TAR_MEMORY.maxReadSize,
    strict: true,
    onReadEntry: (e) => {
      movedBytes(e.size ?? 0);
      const why = unsafeReason(e.path, e.type, e.linkpath);
      if (why) s.unsafe.push(`${JSON.stringify(e.path)}: ${why}`);
      if (e.type === "Directory") s.dirs++;
      else if (e.type === "SymbolicLink") s.symlinks++;
      else {
        s.files++;
        s.bytes += e.size ?? 0;
      }
    },
  });
  return s;
}

/** What an extracted tree holds, counted like summarise() counts the archive. */
export function treeCounts(dir: string): { files: number; dirs: number; symlinks: number; bytes: number } {
  const c = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const seen = new Set<string>();
  const walk = (d: string) => {
    c.dirs++;
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
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

const extractOptions = (file: string, cwd: string) => ({
  file,
  cwd,
  strict: true,
  preservePaths: false,
  preserveOwner: process.getuid?.() === 0,
  maxReadSize: TAR_MEMORY.maxReadSize,
  onReadEntry: (e: tar.ReadEntry) => movedBytes(e.size ?? 0),
});

const countsOf = (s: TarSummary) => ({ files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes });

export const uploads: Component = {
  name: "uploads",

  async backup(ctx) {
    const dir = uploadsDir(ctx.project.root, ctx.project.stack);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    await pipeline(
      tar.c({ cwd: dir, portable: false, follow: false, ...TAR_MEMORY }, ["."]),
      releasing(),
      createWriteStream(join(ctx.dir, UPLOADS_FILE), { mode: 0o600 }),
    );
    const s = await summarise(join(ctx.dir, UPLOADS_FILE));
    return {
      artifacts: [await artifact(ctx.dir, UPLOADS_FILE)],
      tools: { tar: "node-tar 7" },
      counts: countsOf(s),
      notes: [`${dir} as tar (modes, mtimes and symlinks kept; links never followed)`],
    };
  },

  async verify(ctx, rec) {
    let s: TarSummary;
    try {
      s = await summarise(join(ctx.dir, UPLOADS_FILE));
    } catch (e) {
      throw new InvalidBackupError(`uploads: ${UPLOADS_FILE} is not a readable tar archive (${(e as Error).message})`);
    }
    if (s.unsafe.length) throw new InvalidBackupError(`uploads: unsafe archive entry ${s.unsafe[0]}`);
    const c = countsOf(s);
    for (const k of Object.keys(c) as Array<keyof typeof c>) {
      if (c[k] !== rec.counts[k]) throw new InvalidBackupError(`uploads: archive holds ${c[k]} ${k}, the manifest ${rec.counts[k]}`);
    }
  },

  async drill(ctx, rec) {
    await this.verify(ctx, rec);
    const work = newWorkDir(ctx.project.root, "drill-uploads");
    try {
      await tar.x(extractOptions(join(ctx.dir, UPLOADS_FILE), work));
      const got = treeCounts(work);
      const bad = (Object.keys(got) as Array<keyof typeof got>).filter((k) => got[k] !== rec.counts[k]);
      if (bad.length) throw new InvalidBackupError(`uploads: extracted ${bad.map((k) => `${got[k]} ${k} (manifest ${rec.counts[k]})`).join(", ")}`);
      return `extracted into a scratch directory: ${got.files} files, ${got.dirs} directories, ${got.symlinks} symlinks, ${got.bytes} bytes, as in the manifest`;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },

  async restore(ctx, rec) {
    await this.verify(ctx, rec);
    const live = uploadsDir(ctx.project.root, ctx.project.stack);
    const stamp = Date.now().toString(36);
    const fresh = join(dirname(live), `.uploads.claw-restore-${stamp}`);
    const old = join(dirname(live), `.uploads.claw-old-${stamp}`);
    mkdirSync(fresh, { mode: 0o700 });
    // The archive's "./" entry carries the directory's own mode, owner and mtime: node-tar
    // leaves an existing cwd alone, so they are applied by hand after extraction.
    let top: { mode?: number; uid?: number; gid?: number; mtime?: Date } | undefined;
    try {
      await tar.x({
        ...extractOptions(join(ctx.dir, UPLOADS_FILE), fresh),
        onReadEntry: (e) => {
          movedBytes(e.size ?? 0);
          if (e.path === "./" || e.path === ".") top = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
        },
      });
      if (top?.mode !== undefined) chmodSync(fresh, top.mode & 0o7777);
      if (process.getuid?.() === 0 && top?.uid !== undefined && top.gid !== undefined) chownSync(fresh, top.uid, top.gid);
      if (top?.mtime) utimesSync(fresh, top.mtime, top.mtime);
    } catch (e) {
      rmSync(fresh, { recursive: true, force: true });
      throw new ClawError(`uploads: extraction failed (${(e as Error).message}); the live uploads are untouched`);
    }
    if (existsSync(live)) renameSync(live, old);
    renameSync(fresh, live);
    rmSync(old, { recursive: true, force: true });
  },
};
