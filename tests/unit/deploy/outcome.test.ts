import assert from "node:assert/strict";
import { test } from "node:test";
import { summaryLines } from "../../../lib/deploy/outcome.ts";

test("summaryLines: one row per phase with seconds to one decimal, notes only when a phase did not succeed", () => {
  assert.deepEqual(
    summaryLines([
      { name: "preflight", ms: 1234, result: "ok" },
      { name: "backup", ms: 0, result: "skipped", note: "--skip-backup" },
      { name: "rollout", ms: 61_040, result: "failed", note: "claw-ai-backend did not start" },
      { name: "health", ms: 500, result: "ok", note: "ignored" },
    ]),
    [
      "phase      seconds  result",
      "preflight      1.2  ok",
      "backup         0.0  skipped: --skip-backup",
      "rollout       61.0  failed: claw-ai-backend did not start",
      "health         0.5  ok",
    ],
  );
});

test("summaryLines pads to the longest phase name, at least 'phase'", () => {
  assert.deepEqual(summaryLines([{ name: "tls", ms: 100, result: "ok" }]), ["phase  seconds  result", "tls        0.1  ok"]);
  assert.deepEqual(summaryLines([{ name: "post-deploy hook", ms: 12_345, result: "ok" }]), [
    "phase             seconds  result",
    "post-deploy hook     12.3  ok",
  ]);
});
