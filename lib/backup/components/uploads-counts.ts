/**
 * The figures of an uploads tree (files, directories, symlinks, bytes), counted like the
 * archive is, and compared with the ones a manifest recorded.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { InvalidBackupError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { errorCode } from "./archive-rules.ts";
import type { TarSummary } from "./uploads-archive.ts";

export type Counts = { files: number; dirs: number; symlinks: number; bytes: number };
const COUNT_KEYS = ["files", "dirs", "symlinks", "bytes"] as const;

/**
 * Walk a tree without following links, counting like summarise() counts the archive; `visit`
 * sees every entry below the top. Entries that vanish during the walk (a live tree) are skipped.
 */
export function walkTree(dir: string, visit?: (path: string, st: Stats) => void): Counts {
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

/** The manifest's counts, or InvalidBackupError when the record is not what a backup writes. */
export function wantCounts(rec: unknown): Counts {
  const counts = typeof rec === "object" && rec !== null ? (rec as { counts?: unknown }).counts : undefined;
  if (typeof counts !== "object" || counts === null || Array.isArray(counts)) throw new InvalidBackupError(msg.components.uploads.noCounts);
  const c = counts as Record<string, unknown>;
  for (const k of COUNT_KEYS) {
    const n = c[k];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InvalidBackupError(msg.components.uploads.countNotWhole({ key: k }));
  }
  return c as Counts;
}

export const countsOf = (s: TarSummary): Counts => ({ files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes });

export const differing = (got: Counts, want: Counts) => COUNT_KEYS.filter((k) => got[k] !== want[k]);

/** The figures that differ, each with the manifest's. */
export const vsManifest = (got: Counts, want: Counts, keys: readonly (typeof COUNT_KEYS)[number][]) =>
  keys
    .map((k) => msg.components.uploads.vsManifest({ count: msg.components.uploads.count({ n: got[k], what: k }), want: want[k] }))
    .join(msg.components.common.listSep);
