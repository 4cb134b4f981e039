/**
 * In-place snapshots (ComponentRecord.kept) live beside the live data: a renamed database,
 * a volume's moved-aside content. Their backup directory is what keeps them: once it is gone
 * (pruned by the snapshot policy, or removed by hand), the sweep removes the kept data too.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { settleAll } from "../core/async.ts";
import { msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { isBackupId } from "../core/vocabulary/backup-id.ts";
import { UNDO_TIERS } from "../core/vocabulary/tiers.ts";
import type { Project } from "../project/project.ts";
import type { Component, ComponentContext, KeptPlace } from "./components/component.ts";
import type { ComponentName } from "./manifest.ts";
import { REGISTRY } from "./registry.ts";
import { backupsRoot } from "./store.ts";

/** Pure: the tags found beside the live data that no snapshot directory names any more. */
export function orphans(found: readonly string[], snapshotIds: ReadonlySet<string>): string[] {
  return found.filter((t) => isBackupId(t) && !snapshotIds.has(t));
}

/**
 * Remove kept data whose snapshot is gone. Never fails the run that calls it: a service that
 * is not there or not reachable is warned about and left for the next sweep. Returns what
 * was removed, as `<component>:<tag>`.
 */
export async function sweepKept(project: Project, out: Output, registry: Readonly<Record<ComponentName, Component>> = REGISTRY): Promise<string[]> {
  const root = backupsRoot(project.root);
  const ids = new Set<string>();
  // A restore's snapshot tiers: the only ones that can hold kept data.
  const dirs = UNDO_TIERS.map((t) => join(root, t)).filter((d) => existsSync(d));
  // Neither tier there (no backups dir, an unmounted backups disk): nothing can be known to be orphaned.
  if (!dirs.length) return [];
  try {
    for (const d of dirs) for (const n of readdirSync(d)) ids.add(n);
  } catch (e) {
    out.warn(msg.backup.kept.cannotReadDirs({ reason: (e as Error).message }));
    return [];
  }
  const ctx: ComponentContext = { project, dir: root, out };
  const removed: string[] = [];
  const sweep = async ({ what, list, drop }: KeptPlace) => {
    try {
      const gone = orphans(await list(), ids);
      if (!gone.length) return;
      await drop(gone);
      removed.push(...gone.map((t) => `${what}:${t}`));
    } catch (e) {
      out.warn(msg.backup.kept.notSwept({ what, reason: (e as Error).message }));
    }
  };
  // Every place each component keeps in-place snapshots in on this stack, at the same time.
  await settleAll(Object.values(registry).flatMap((c) => (c.kept?.(ctx) ?? []).map(sweep)));
  if (removed.length) out.info(msg.backup.kept.removed({ list: removed.join(", ") }));
  return removed;
}
