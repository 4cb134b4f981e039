import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type BackupMetrics, previousSuccess, renderMetrics, writeMetrics } from "../../../lib/infra/metrics.ts";
import { tmp } from "../helpers.ts";

const okRun: BackupMetrics = {
  success: true,
  finishedAt: new Date("2024-03-01T02:05:00.999Z"),
  durationMs: 65_432,
  components: { postgres: { durationMs: 1500, bytes: 1048576 }, config: { durationMs: 12, bytes: 10240 } },
};

test("the metrics textfile of a successful run", () => {
  assert.equal(
    renderMetrics(okRun, 1_700_000_000),
    [
      "# HELP claw_backup_last_success_timestamp_seconds Unix time of the last successful backup.",
      "# TYPE claw_backup_last_success_timestamp_seconds gauge",
      "claw_backup_last_success_timestamp_seconds 1709258700",
      "# HELP claw_backup_last_run_success Whether the last backup run succeeded (1) or failed (0).",
      "# TYPE claw_backup_last_run_success gauge",
      "claw_backup_last_run_success 1",
      "# HELP claw_backup_duration_seconds Duration of the last backup run.",
      "# TYPE claw_backup_duration_seconds gauge",
      "claw_backup_duration_seconds 65.432",
      "# HELP claw_backup_component_duration_seconds Duration per component of the last backup.",
      "# TYPE claw_backup_component_duration_seconds gauge",
      'claw_backup_component_duration_seconds{component="postgres"} 1.500',
      'claw_backup_component_duration_seconds{component="config"} 0.012',
      "# HELP claw_backup_component_bytes Bytes written per component by the last backup.",
      "# TYPE claw_backup_component_bytes gauge",
      'claw_backup_component_bytes{component="postgres"} 1048576',
      'claw_backup_component_bytes{component="config"} 10240',
      "",
    ].join("\n"),
  );
});

test("a failed run keeps the previous success timestamp and reports 0", () => {
  const failed: BackupMetrics = { success: false, finishedAt: new Date("2024-03-02T02:00:00Z"), durationMs: 100, components: {} };
  const text = renderMetrics(failed, 1709258700);
  assert.match(text, /^claw_backup_last_success_timestamp_seconds 1709258700$/m);
  assert.match(text, /^claw_backup_last_run_success 0$/m);
  assert.equal(previousSuccess(text), 1709258700);
  const never = renderMetrics(failed, undefined);
  assert.doesNotMatch(never, /^claw_backup_last_success_timestamp_seconds /m);
  assert.match(never, /^# TYPE claw_backup_last_success_timestamp_seconds gauge$/m);
  assert.equal(previousSuccess(never), undefined);
});

test("the previous success is read back from a written textfile", () => {
  assert.equal(previousSuccess(renderMetrics(okRun, undefined)), 1709258700);
  assert.equal(previousSuccess("# HELP claw_backup_last_success_timestamp_seconds x\n"), undefined);
  assert.equal(previousSuccess(""), undefined);
});

test("writing metrics after a failure keeps the last success on disk", () => {
  const root = tmp();
  const file = writeMetrics(root, okRun);
  assert.equal(file, join(root, "metrics", "claw_backup.prom"));
  writeMetrics(root, { success: false, finishedAt: new Date("2024-03-02T02:00:00Z"), durationMs: 1, components: {} });
  const text = readFileSync(file, "utf8");
  assert.equal(previousSuccess(text), 1709258700);
  assert.match(text, /^claw_backup_last_run_success 0$/m);
  assert.deepEqual(readdirSync(join(root, "metrics")), ["claw_backup.prom"]);
});
