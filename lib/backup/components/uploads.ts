/**
 * Uploads: ./uploads as a tar archive made with the `tar` package: modes and mtimes kept,
 * any file name (spaces, unicode, newlines) survives, symlinks are stored as links and
 * never followed. When ./uploads is itself a symlink (to another disk, say), the directory it
 * points at is what is archived and restored; the link stays as it is.
 * Restore checks every entry before extracting (no absolute paths, no `..`, no link pointing
 * out of the tree, the top entry a directory), extracts into a scratch directory inside the
 * live one and swaps the contents in place. Modes lose setuid, setgid and sticky bits, and
 * owners come from the live directory, never from the archive.
 * This file is the component; its parts: uploads-dir.ts (where the uploads are),
 * uploads-archive.ts (checking an archive), uploads-counts.ts, uploads-extract.ts,
 * uploads-swap.ts (the swap and its recovery) and uploads-kept.ts (in-place snapshots).
 */
import { chmodSync, createWriteStream, existsSync, mkdirSync, realpathSync, rmSync, statSync, utimesSync } from "node:fs";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { releasing } from "../../core/memory.ts";
import { findByRole } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import { errorCode, isRoot } from "./archive-rules.ts";
import { type Component, type Frozen, keptResult, type PreparedRestore, swapping } from "./component.ts";
import { summarise, TAR_MEMORY, type TarSummary } from "./uploads-archive.ts";
import { archivedNothing, type Counts, countsOf, differing, treeCounts, vsManifest, wantCounts } from "./uploads-counts.ts";
import { liveUploads, uploadsDir, uploadsRealDir } from "./uploads-dir.ts";
import { extractTree, settle, type Top } from "./uploads-extract.ts";
import { copyKept, dropKeptUploads, keptUploads, keptUploadsDir, verifyKept } from "./uploads-kept.ts";
import { recoverUploads, swapContent } from "./uploads-swap.ts";

export const UPLOADS_FILE = "uploads.tar";

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

  async recover(ctx) {
    if (!findByRole(ctx.project.stack, "backend")) return { lines: [] };
    const real = uploadsRealDir(uploadsDir(ctx.project.root, ctx.project.stack));
    return { lines: real === undefined ? [] : recoverUploads(real).map((m) => `uploads: ${m}`) };
  },

  kept(ctx) {
    const { root, stack } = ctx.project;
    if (!findByRole(stack, "backend")) return [];
    return [{ what: "uploads", list: async () => keptUploads(root, stack), drop: async (tags) => dropKeptUploads(root, stack, tags) }];
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

/** Records check() verified in this run (their artifact checksum-verified, not rewritten since): prepare need not read them again. */
const checked = new WeakSet<object>();

/** What prepare staged (ref: the staging dir): where it goes and the top directory's own mode and mtime. */
interface StagedUploads extends PreparedRestore {
  real: string;
  top: Top;
}
