/**
 * Backup metrics for Prometheus, through node-exporter's textfile collector (./metrics is
 * mounted at /textfile). Written atomically (temp file + rename), as the collector requires.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const METRICS_DIR = "metrics";
export const METRICS_FILE = "claw_backup.prom";

export interface BackupMetrics {
  success: boolean;
  finishedAt: Date;
  durationMs: number;
  components: Record<string, { durationMs: number; bytes: number }>;
}

/** Pure: the textfile content. The last success time survives a failed run. */
export function renderMetrics(m: BackupMetrics, previousSuccess: number | undefined): string {
  const ts = Math.floor(m.finishedAt.getTime() / 1000);
  const lastSuccess = m.success ? ts : previousSuccess;
  const lines = [
    "# HELP claw_backup_last_success_timestamp_seconds Unix time of the last successful backup.",
    "# TYPE claw_backup_last_success_timestamp_seconds gauge",
    ...(lastSuccess !== undefined ? [`claw_backup_last_success_timestamp_seconds ${lastSuccess}`] : []),
    "# HELP claw_backup_last_run_success Whether the last backup run succeeded (1) or failed (0).",
    "# TYPE claw_backup_last_run_success gauge",
    `claw_backup_last_run_success ${m.success ? 1 : 0}`,
    "# HELP claw_backup_duration_seconds Duration of the last backup run.",
    "# TYPE claw_backup_duration_seconds gauge",
    `claw_backup_duration_seconds ${(m.durationMs / 1000).toFixed(3)}`,
    "# HELP claw_backup_component_duration_seconds Duration per component of the last backup.",
    "# TYPE claw_backup_component_duration_seconds gauge",
    ...Object.entries(m.components).map(([c, v]) => `claw_backup_component_duration_seconds{component="${c}"} ${(v.durationMs / 1000).toFixed(3)}`),
    "# HELP claw_backup_component_bytes Bytes written per component by the last backup.",
    "# TYPE claw_backup_component_bytes gauge",
    ...Object.entries(m.components).map(([c, v]) => `claw_backup_component_bytes{component="${c}"} ${v.bytes}`),
  ];
  return `${lines.join("\n")}\n`;
}

export function previousSuccess(text: string): number | undefined {
  const m = /^claw_backup_last_success_timestamp_seconds (\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function writeMetrics(root: string, m: BackupMetrics): string {
  const dir = join(root, METRICS_DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, METRICS_FILE);
  const prev = existsSync(file) ? previousSuccess(readFileSync(file, "utf8")) : undefined;
  writeFileSync(`${file}.tmp`, renderMetrics(m, prev), { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
  return file;
}
