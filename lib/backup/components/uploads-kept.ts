/**
 * The in-place snapshots of the uploads: what a restore replaced, kept beside the uploads
 * directory (named after it and the snapshot's tag), listed, dropped, checked and copied back.
 */
import { createHash } from "node:crypto";
import { readdirSync, rmSync, type Stats, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { run } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import { BACKUP_ID_SOURCE, isBackupId } from "../../core/vocabulary/backup-id.ts";
import type { StackModel } from "../../project/stack.ts";
import type { ComponentRecord } from "../manifest.ts";
import type { ComponentContext } from "./component.ts";
import { type Counts, differing, treeCounts, wantCounts } from "./uploads-counts.ts";
import { uploadsDir, uploadsRealDir } from "./uploads-dir.ts";
import type { Top } from "./uploads-extract.ts";

// Named after the uploads directory too: two stacks whose uploads share a parent never touch each other's.
const keptPrefix = (real: string) => `.claw-kept-uploads-${createHash("sha256").update(real).digest("hex").slice(0, 8)}-`;
/** What follows keptPrefix: the tag, `.partial` while the move aside is unfinished. */
const KEPT_TAG = new RegExp(`^${BACKUP_ID_SOURCE}(\\.partial)?$`);
/** Where the in-place snapshot `tag` of the uploads in `real` is kept: beside it. */
export const keptUploadsDir = (real: string, tag: string) => join(dirname(real), `${keptPrefix(real)}${tagged(tag)}`);
export const keptTagOf = (real: string, name: string) => {
  const p = keptPrefix(real);
  return name.startsWith(p) && KEPT_TAG.test(name.slice(p.length)) ? name.slice(p.length) : undefined;
};
function tagged(tag: string): string {
  if (!isBackupId(tag)) throw new ClawError(msg.components.uploads.notATag({ tag: JSON.stringify(tag) }));
  return tag;
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

/** A copy of an in-place snapshot into the staging dir (cp -a: modes, mtimes, links as they are); the top's mode and mtime. */
export async function copyKept(kept: string, fresh: string): Promise<Top> {
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
export function verifyKept(ctx: ComponentContext, rec: ComponentRecord, tag: string): string {
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
