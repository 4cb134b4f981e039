import assert from "node:assert/strict";
import { test } from "node:test";
import type { LockInfo } from "../../../lib/core/lock.ts";
import { recoveryAdvice } from "../../../lib/restore/run-lock.ts";

const root = "/srv/claw";
const dead: LockInfo = {
  pid: 4242,
  host: "h",
  script: "rollback.mts",
  purpose: "rollback to backups/daily/20260101-020000",
  startedAt: "2026-01-02T10:00:00.000Z",
  finish: "npx zx scripts/rollback.mts --backup backups/daily/20260101-020000 --skip-redis -y",
};

test("a dead rollback's advice is its own finish command and a rollback to the snapshot it took, both by path", () => {
  const snapshots = [
    { dir: `${root}/backups/pre-rollback/20260102-100001`, time: new Date("2026-01-02T10:00:01.000Z") },
    { dir: `${root}/backups/pre-rollback/20251231-090000`, time: new Date("2025-12-31T09:00:00.000Z") }, // an older run's
  ];
  assert.deepEqual(recoveryAdvice(dead, snapshots, root), [
    "to finish it: npx zx scripts/rollback.mts --backup backups/daily/20260101-020000 --skip-redis -y",
    "to undo it instead: npx zx scripts/rollback.mts --backup backups/pre-rollback/20260102-100001 -y",
  ]);
});

test("a run that died before its snapshot was complete touched nothing, and says so instead of naming an older snapshot", () => {
  const older = [{ dir: `${root}/backups/pre-rollback/20251231-090000`, time: new Date("2025-12-31T09:00:00.000Z") }];
  assert.deepEqual(recoveryAdvice(dead, older, root), [
    "it died before its safety snapshot was complete (or before it was confirmed): the live data was not touched",
  ]);
});

test("a dead backup needs no advice: the next backup simply runs", () => {
  assert.deepEqual(recoveryAdvice({ ...dead, script: "backup.mts", purpose: "backup" }, [], root), []);
});
