/**
 * The logs/ directory stays bounded: per-run logs older than 30 days are removed, and the
 * log cron appends to (logs/backup.log) is rotated past 10 MiB (one previous file kept).
 * Planned as data (pure), then applied; run at the start of every script that logs.
 */
import { readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DAY_MS } from "./time.ts";
import { BACKUP_ID_SOURCE } from "./vocabulary/backup-id.ts";

export const LOG_KEEP_DAYS = 30;
export const ROTATE_BYTES = 10 * 1024 * 1024;
const RUN_LOG = new RegExp(`^[a-z]+-${BACKUP_ID_SOURCE}\\.log$`); // what logFileName (output.ts) names
const APPENDED = ["backup.log"];

export interface LogFile {
  name: string;
  mtimeMs: number;
  size: number;
}

export interface LogPlan {
  remove: string[];
  /** Renamed to `<name>.1`, replacing the previous one. */
  rotate: string[];
}

/** Pure: which log files go (old per-run logs) and which are rotated (large appended logs). */
export function planLogs(files: readonly LogFile[], now: Date, o: { keepDays?: number; rotateBytes?: number } = {}): LogPlan {
  const cutoff = now.getTime() - (o.keepDays ?? LOG_KEEP_DAYS) * DAY_MS;
  return {
    remove: files.filter((f) => RUN_LOG.test(f.name) && f.mtimeMs < cutoff).map((f) => f.name),
    rotate: files.filter((f) => APPENDED.includes(f.name) && f.size > (o.rotateBytes ?? ROTATE_BYTES)).map((f) => f.name),
  };
}

/** Apply planLogs to a directory; best effort (a log that cannot be pruned never fails a run). */
export function pruneLogs(dir: string, now: Date): LogPlan {
  let files: LogFile[];
  try {
    files = readdirSync(dir).flatMap((name) => {
      const st = statSync(join(dir, name), { throwIfNoEntry: false });
      return st?.isFile() ? [{ name, mtimeMs: st.mtimeMs, size: st.size }] : [];
    });
  } catch {
    return { remove: [], rotate: [] };
  }
  const plan = planLogs(files, now);
  const quietly = (f: () => void) => {
    try {
      f();
    } catch {
      /* another run pruned or rotated it first */
    }
  };
  for (const n of plan.remove) quietly(() => rmSync(join(dir, n), { force: true }));
  // A run still appending keeps writing to the renamed file: nothing is lost.
  for (const n of plan.rotate) quietly(() => renameSync(join(dir, n), join(dir, `${n}.1`)));
  return plan;
}
