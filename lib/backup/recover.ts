/**
 * Before a restore, a backup or a sweep reads or starts the data: put back together what a
 * restore that died left half-swapped (its swap containers were removed with it, mid-move).
 * Each component does its own (Component.recover: Postgres' live database renamed away or
 * refusing connections; a volume's or the uploads' move aside moved back or finished, lone
 * staging removed); each repair is warned about. Whether to look at all is the restore run
 * record's `swapping` (lib/backup/restore-record.ts).
 */

import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { settleAll } from "../core/async.ts";
import { msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import type { Component, ComponentContext } from "./components/component.ts";
import type { ComponentName } from "./manifest.ts";
import { REGISTRY } from "./registry.ts";
import { bareMark, fileRunRecords, type RunRecordStore, transition } from "./restore-record.ts";
import { backupsRoot } from "./store.ts";

/** The mark releases before the run record wrote: a host upgraded with a restore dead mid-swap is still recovered. */
const OLD_MARK = ".swapping";

export interface RecoverOptions {
  registry?: Readonly<Record<ComponentName, Component>>;
  records?: RunRecordStore;
}

/**
 * Mark the run record as swapping (a bare mark when no run is recorded): the next run of any
 * script recovers before it reads or starts the data. A restore sets it with its `frozen`
 * state; this is the same mark on its own (the end-to-end tests kill a restore mid-swap with it).
 */
export function markSwapping(root: string): void {
  const records = fileRunRecords(root);
  const rec = records.read();
  records.write(rec ? { ...rec, swapping: true } : bareMark(new Date()));
}

export async function recoverDeadSwaps(project: Project, out: Output, o: RecoverOptions = {}): Promise<void> {
  const records = o.records ?? fileRunRecords(project.root);
  const rec = records.read();
  const oldMark = join(backupsRoot(project.root), OLD_MARK);
  const old = existsSync(oldMark);
  // Nothing can be half-swapped unless a restore was swapping when it died.
  if (!rec?.swapping && !old) return;
  const ctx: ComponentContext = { project, dir: project.root, out };
  const got = await settleAll(Object.values(o.registry ?? REGISTRY).map((c) => c.recover?.(ctx) ?? Promise.resolve({ lines: [] })));
  for (const line of got.flatMap((r) => r.lines)) out.warn(msg.backup.recover.halfSwapped({ line }));
  // A component that could not look yet (Postgres stopped) leaves the mark for the next run that can.
  if (got.some((r) => r.later)) return;
  if (rec?.swapping) records.write(transition(rec, "recovered", new Date(), { swapping: false }));
  if (old) rmSync(oldMark, { force: true });
}
