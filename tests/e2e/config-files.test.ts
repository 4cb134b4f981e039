/** nginx and Prometheus configs checked by the real tools, inside the stack's images. */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { run } from "../../lib/core/exec.ts";
import { REPO_ROOT, selfSignedCert } from "../stack/harness.ts";
import { ensureImages, imageRef } from "../stack/images.ts";

describe("configuration files", { timeout: 900_000 }, () => {
  before(async () => {
    await ensureImages((m) => process.stderr.write(`[images] ${m}\n`));
  });

  test("nginx -t accepts nginx/nginx.conf", async () => {
    const ssl = mkdtempSync(join(tmpdir(), "claw-ssl-"));
    await selfSignedCert(ssl);
    const r = await run(
      {
        argv: [
          "docker",
          "run",
          "--rm",
          "-v",
          `${join(REPO_ROOT, "nginx/nginx.conf")}:/etc/nginx/nginx.conf:ro`,
          "-v",
          `${join(REPO_ROOT, "nginx/live")}:/etc/nginx/live:ro`,
          "-v",
          `${ssl}:/etc/nginx/ssl:ro`,
          "-v",
          `${join(ssl, "fullchain.pem")}:/etc/nginx/.htpasswd:ro`,
          imageRef("nginx"),
          "nginx",
          "-t",
        ],
      },
      { allowFailure: true },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /syntax is ok/);
  });

  test("promtool accepts prometheus.yml and the alert rules", async () => {
    const mount = ["-v", `${join(REPO_ROOT, "prometheus")}:/etc/prometheus:ro`, "--entrypoint", "promtool", imageRef("prometheus")];
    const cfg = await run({ argv: ["docker", "run", "--rm", ...mount, "check", "config", "/etc/prometheus/prometheus.yml"] }, { allowFailure: true });
    assert.equal(cfg.status, 0, cfg.stdout + cfg.stderr);
    const rules = await run({ argv: ["docker", "run", "--rm", ...mount, "check", "rules", "/etc/prometheus/alerts.yml"] }, { allowFailure: true });
    assert.equal(rules.status, 0, rules.stdout + rules.stderr);
    assert.match(rules.stdout, /SUCCESS: 4 rules found/);
  });

  test("the alert rules fire as intended on synthetic series", async () => {
    const dir = mkdtempSync(join(tmpdir(), "claw-rules-"));
    chmodSync(dir, 0o755); // promtool runs as nobody in the image
    writeFileSync(
      join(dir, "test.yml"),
      `rule_files: [/etc/prometheus/alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="claw-ai-backend",instance="claw-ai-backend:8000"}'
        values: '0x5'
      - series: 'claw_backup_last_success_timestamp_seconds{component="postgres"}'
        values: '0x40'
      - series: 'node_filesystem_avail_bytes{fstype="ext4",mountpoint="/"}'
        values: '5x10'
      - series: 'node_filesystem_size_bytes{fstype="ext4",mountpoint="/"}'
        values: '100x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: TargetDown
        exp_alerts:
          - exp_labels: { severity: critical, job: claw-ai-backend, instance: "claw-ai-backend:8000" }
            exp_annotations: { summary: "claw-ai-backend (claw-ai-backend:8000) is down" }
      - eval_time: 10m
        alertname: DiskSpaceLow
        exp_alerts:
          - exp_labels: { severity: critical, fstype: ext4, mountpoint: "/" }
            exp_annotations: { summary: "Less than 10 % disk space left on /" }
`,
      { mode: 0o644 },
    );
    const r = await run(
      {
        argv: [
          "docker",
          "run",
          "--rm",
          "-v",
          `${join(REPO_ROOT, "prometheus")}:/etc/prometheus:ro`,
          "-v",
          `${dir}:/t:ro`,
          "--entrypoint",
          "promtool",
          imageRef("prometheus"),
          "test",
          "rules",
          "/t/test.yml",
        ],
      },
      { allowFailure: true },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
