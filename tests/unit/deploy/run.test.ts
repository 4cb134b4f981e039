import assert from "node:assert/strict";
import { test } from "node:test";
import { newReleaseId, shortHash, summaryLines } from "../../../lib/deploy/run.ts";

test("a release id is the local time as YYYYMMDD-HHMMSS, zero-padded", () => {
  assert.equal(newReleaseId(new Date(2026, 0, 2, 3, 4, 5), new Set()), "20260102-030405");
  assert.equal(newReleaseId(new Date(2026, 11, 31, 23, 59, 59), new Set()), "20261231-235959");
});

test("a release id taken in the ledger gets -2, then -3", () => {
  const now = new Date(2026, 2, 1, 12, 0, 0);
  assert.equal(newReleaseId(now, new Set(["20260301-120000"])), "20260301-120000-2");
  assert.equal(newReleaseId(now, new Set(["20260301-120000", "20260301-120000-2"])), "20260301-120000-3");
  assert.equal(newReleaseId(now, new Set(["20260301-120000-2"])), "20260301-120000");
});

test("shortHash is the first 16 hex of the sha256, the same for a string and its bytes", () => {
  assert.equal(shortHash(""), "e3b0c44298fc1c14");
  assert.equal(shortHash("abc"), "ba7816bf8f01cfea");
  assert.equal(shortHash(Buffer.from("abc")), "ba7816bf8f01cfea");
});

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
