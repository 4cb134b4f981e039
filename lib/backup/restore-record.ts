/**
 * The record a restore keeps of itself, backups/restore-run.json: its plan, the state it
 * reached and when, written (temp file + rename, 0600) before the effect that follows each
 * state. A run killed at any point leaves the state it had reached; the next run of any script
 * reads it to know what it must put back first, and what can be finished or undone.
 *
 *   planned → prepared → snapshotted → frozen → swapped → started
 *      ↘          ↘           ↘           ↘         ↘
 *                           failed (the run ended with an error; `reached` says where)
 *   any state with `swapping` set → recovered (the next run put back a half swap)
 *
 * It lives beside the store (not in lib/restore) because every script's first step,
 * recoverDeadSwaps, reads it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import type { ComponentName } from "./manifest.ts";
import { backupsRoot } from "./store.ts";

export const RUN_STATES = ["planned", "prepared", "snapshotted", "frozen", "swapped", "started", "failed", "recovered"] as const;
export type RunState = (typeof RUN_STATES)[number];

/** What a run restores, as it planned it (paths relative to the project root). */
export interface RunPlan {
  event: "restore" | "rollback";
  /** The backup restored. */
  backup: string;
  backupId: string;
  components: ComponentName[];
  snapshotTier: SnapshotTier;
  /** The components whose snapshot is kept in place (renamed beside the live data, not copied). */
  inPlace: ComponentName[];
}

export interface RestoreRunRecord {
  version: 1;
  pid: number;
  state: RunState;
  /** failed and recovered: the state the run had reached. */
  reached?: RunState;
  /**
   * Set from just before the first swap until every swap ended, or until the next run put
   * back what they left: while it is set, every script recovers before anything reads or
   * starts the data (it was the `.swapping` mark).
   */
  swapping: boolean;
  /** Absent only in a bare swap mark (markSwapping with no run recorded). */
  plan?: RunPlan;
  /** The pre-restore snapshot once committed: what `rollback --undo` goes back to. */
  snapshot?: string;
  /** An unfinished restore's snapshot this run finishes, and the components it keeps there. */
  adopted?: { snapshot: string; components: ComponentName[] };
  /** The in-place components whose live data was moved aside into the snapshot. */
  moved: ComponentName[];
  error?: string;
  /** Every state with the time it was recorded. */
  history: Array<{ state: RunState; at: string }>;
}

const NEXT: Record<RunState, readonly RunState[]> = {
  planned: ["prepared", "failed"],
  prepared: ["snapshotted", "failed"],
  snapshotted: ["frozen", "failed"],
  frozen: ["swapped", "failed"],
  swapped: ["started", "failed"],
  started: [],
  failed: [],
  recovered: [],
};

/** Pure: the record a run starts with. `swapping` is carried from a dead run whose half swap could not be put back yet. */
export function plannedRecord(plan: RunPlan, previous: RestoreRunRecord | undefined, at: Date, pid = process.pid): RestoreRunRecord {
  return {
    version: 1,
    pid,
    state: "planned",
    swapping: previous?.swapping === true,
    plan,
    moved: [],
    history: [{ state: "planned", at: at.toISOString() }],
  };
}

/** Pure: the record after a transition; one the machine does not have is a bug, thrown. */
export function transition(rec: RestoreRunRecord, state: RunState, at: Date, patch: Partial<RestoreRunRecord> = {}): RestoreRunRecord {
  const allowed = state === "recovered" ? rec.swapping : NEXT[rec.state].includes(state);
  if (!allowed) throw new Error(`restore run: no transition ${rec.state} → ${state}`);
  const reached = state === "failed" || state === "recovered" ? { reached: rec.state === "failed" ? (rec.reached ?? rec.state) : rec.state } : {};
  return { ...rec, ...patch, ...reached, state, history: [...rec.history, { state, at: at.toISOString() }] };
}

/** What the next run does about a restore's record, from the record alone. */
export type NextRun =
  /** The run ended, or died before it replaced anything (what it left stopped is started by any next run). */
  | { action: "nothing" }
  /** A swap may be half done: put back together first (every script does), then finish or undo. */
  | { action: "recover swaps"; snapshot?: string }
  /** Data may be replaced, the rest not done: run the same restore again, or undo to the snapshot. */
  | { action: "finish"; snapshot?: string }
  /** The run ended with an error after replacing data (its report named the undo). */
  | { action: "offer undo"; snapshot?: string };

/** Pure: the plan of what the next run must do, given the record a run left. */
export function resumeOrUndo(rec: RestoreRunRecord | undefined): NextRun {
  if (!rec) return { action: "nothing" };
  const snapshot = rec.snapshot ? { snapshot: rec.snapshot } : {};
  if (rec.swapping) return { action: "recover swaps", ...snapshot };
  const reached = rec.state === "failed" || rec.state === "recovered" ? (rec.reached ?? "planned") : rec.state;
  // Nothing live was replaced before the first swap.
  if (["planned", "prepared", "started"].includes(reached)) return { action: "nothing" };
  if (reached === "snapshotted") return rec.state === "failed" ? { action: "nothing" } : { action: "finish", ...snapshot };
  if (rec.state === "failed") return { action: "offer undo", ...snapshot };
  return { action: "finish", ...snapshot };
}

/** Where the record is kept: a file under backups/, or memory in the unit tests. */
export interface RunRecordStore {
  read(): RestoreRunRecord | undefined;
  write(rec: RestoreRunRecord): void;
}

// Not a dot file: those under backups/ are scratch, and a finished run leaves none (the end-to-end tests check).
export const RUN_RECORD = "restore-run.json";

/** The record on disk. An unreadable one reads as a bare swap mark: recovering for nothing is harmless, skipping it is not. */
export function fileRunRecords(root: string): RunRecordStore {
  const file = join(backupsRoot(root), RUN_RECORD);
  return {
    read() {
      if (!existsSync(file)) return undefined;
      try {
        const rec = JSON.parse(readFileSync(file, "utf8")) as RestoreRunRecord;
        if (rec?.version === 1 && RUN_STATES.includes(rec.state)) return rec;
      } catch {
        // Torn by hand or by a full disk: read as below.
      }
      return bareMark(new Date());
    },
    write(rec) {
      mkdirSync(backupsRoot(root), { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.tmp`, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    },
  };
}

/** Pure: a record that says only that swaps may be half done (no run recorded to mark). */
export const bareMark = (at: Date, pid = process.pid): RestoreRunRecord => ({
  version: 1,
  pid,
  state: "frozen",
  swapping: true,
  moved: [],
  history: [{ state: "frozen", at: at.toISOString() }],
});
