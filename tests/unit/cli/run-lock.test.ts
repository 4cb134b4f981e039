import assert from "node:assert/strict";
import { test } from "node:test";
import { recoveryAdvice } from "../../../lib/cli/run-lock.ts";
import type { LockInfo } from "../../../lib/core/lock.ts";

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

test("a dead deploy is finished by its own command or undone by going back to the release before it: never by a data restore", () => {
  const deploy = {
    ...dead,
    script: "deploy.mts",
    purpose: "release rollback to 20260101-020000",
    finish: "npx zx scripts/deploy.mts --rollback-release 20260101-020000",
  };
  const snapshots = [{ dir: `${root}/backups/pre-deploy/20260102-100001`, time: new Date("2026-01-02T10:00:01.000Z") }];
  assert.deepEqual(recoveryAdvice(deploy, snapshots, root), [
    "to finish it: npx zx scripts/deploy.mts --rollback-release 20260101-020000",
    "to go back to the release that served before it instead: npx zx scripts/deploy.mts --rollback-release",
  ]);
});

test("a dead migrate run points at --status (where the database is and what is pending)", () => {
  assert.deepEqual(recoveryAdvice({ ...dead, script: "migrate.mts", purpose: "migrations" }, [], root), [
    "run npx zx scripts/migrate.mts --status: it says where the database is and what is pending",
  ]);
});
