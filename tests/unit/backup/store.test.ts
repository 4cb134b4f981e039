import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Manifest } from "../../../lib/backup/manifest.ts";
import {
  applyPrune,
  backupEntries,
  cleanLeftovers,
  commitStaging,
  formatEntries,
  formatListing,
  listBackups,
  newStagingDir,
  newWorkDir,
  promote,
  refsOf,
  resolveBackupDir,
  type StoreTier,
  snapshotEntries,
} from "../../../lib/backup/store.ts";
import { ClawError, ExitCode, InvalidBackupError } from "../../../lib/core/errors.ts";
import type { Tier } from "../../../lib/core/vocabulary/tiers.ts";
import { expectError, tmp } from "../helpers.ts";

/** A well-formed postgres component's artifact list (the listing reads manifests, it does not hash files). */
const PG_ARTIFACTS = [
  { file: "postgres-claw_ai.dump", bytes: 100, sha256: "0".repeat(64) },
  { file: "postgres-globals.sql", bytes: 0, sha256: "0".repeat(64) },
];

function manifest(id: string, createdAt: string, o: Partial<Manifest> = {}): Manifest {
  return {
    format: "claw-ops-backup",
    version: 1,
    id,
    createdAt,
    finishedAt: createdAt,
    host: "h",
    release: { image: "i", tag: "t" },
    composeProject: null,
    components: {
      postgres: {
        name: "postgres",
        status: "ok",
        startedAt: "",
        finishedAt: "",
        durationMs: 1,
        artifacts: PG_ARTIFACTS,
        tools: {},
        counts: {},
        notes: [],
      },
    },
    ...o,
  };
}

/** backups/<tier>/<dir>/ with a manifest (for `id`) and an artifact of `bytes` bytes. */
function makeBackup(
  root: string,
  tier: StoreTier,
  id: string,
  createdAt: string,
  o: { dirName?: string; bytes?: number; manifest?: Partial<Manifest> } = {},
): string {
  const dir = join(root, "backups", tier, o.dirName ?? id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest(id, createdAt, o.manifest)));
  writeFileSync(join(dir, "postgres-claw_ai.dump"), "x".repeat(o.bytes ?? 100));
  return dir;
}

const invalidBackup = (fn: () => unknown): InvalidBackupError => expectError(InvalidBackupError, ExitCode.invalidBackup, fn);

test("promotion hard-links every file of a backup into weekly and monthly (same inode, no copy)", () => {
  const root = tmp();
  const dir = makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  assert.deepEqual(promote(root, dir, "20240301-020000", ["weekly", "monthly"]), ["weekly", "monthly"]);
  for (const f of ["manifest.json", "postgres-claw_ai.dump"]) {
    const daily = statSync(join(dir, f));
    for (const tier of ["weekly", "monthly"]) {
      const copy = statSync(join(root, "backups", tier, "20240301-020000", f));
      assert.equal(copy.ino, daily.ino, `${tier}/${f}`);
    }
    assert.equal(statSync(join(dir, f)).nlink, 3);
  }
  assert.deepEqual(readdirSync(join(root, "backups", "weekly")), ["20240301-020000"]);
  assert.deepEqual(promote(root, dir, "20240301-020000", []), []);
});

test("backups are listed newest first; staging dirs are skipped silently, broken ones reported", () => {
  const root = tmp();
  makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z", { bytes: 10 });
  makeBackup(root, "daily", "20240303-020000", "2024-03-03T01:00:00.000Z", { bytes: 30 });
  makeBackup(root, "weekly", "20240301-020000", "2024-03-01T01:00:00.000Z", { bytes: 10 });
  makeBackup(root, "pre-rollback", "20240302-101500", "2024-03-02T09:15:00.000Z", { bytes: 20 });
  makeBackup(root, "daily", "20240304-020000", "2024-03-04T01:00:00.000Z", { dirName: ".tmp-20240304-020000" });
  mkdirSync(join(root, "backups", "daily", "20240305-020000"));
  makeBackup(root, "daily", "20240306-020000", "2024-03-06T01:00:00.000Z", { dirName: "20240307-020000" });
  writeFileSync(join(root, "backups", "daily", "stray-file"), "");
  const invalid: Array<[string, string]> = [];
  const list = listBackups(root, { onInvalid: (dir, why) => invalid.push([dir, why]) });
  assert.deepEqual(
    list.map((b) => `${b.tier}/${b.id}`),
    ["daily/20240303-020000", "pre-rollback/20240302-101500", "daily/20240301-020000", "weekly/20240301-020000"],
  );
  assert.equal(list[0]?.dir, join(root, "backups", "daily", "20240303-020000"));
  assert.equal(list[0]?.time.toISOString(), "2024-03-03T01:00:00.000Z");
  const manifestBytes = JSON.stringify(manifest("20240303-020000", "2024-03-03T01:00:00.000Z")).length;
  assert.equal(list[0]?.bytes, 30 + manifestBytes);
  assert.deepEqual(invalid, [
    [
      join(root, "backups", "daily", "20240305-020000"),
      `${join(root, "backups", "daily", "20240305-020000")} is not a backup: it has no manifest.json`,
    ],
    [join(root, "backups", "daily", "20240307-020000"), "its manifest belongs to backup 20240306-020000, not 20240307-020000"],
  ]);
  assert.deepEqual(
    listBackups(root, { tiers: ["weekly"] }).map((b) => b.id),
    ["20240301-020000"],
  );
  assert.deepEqual(listBackups(tmp()), []);
});

test("only the retention tiers become prune refs", () => {
  const root = tmp();
  makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  makeBackup(root, "pre-restore", "20240302-020000", "2024-03-02T01:00:00.000Z");
  assert.deepEqual(
    refsOf(listBackups(root)).map((r) => `${r.tier}/${r.id}`),
    ["daily/20240301-020000"],
  );
});

test("backup entries merge the tiers of one id into one row, newest first, indexed from 1; snapshots are listed apart and never indexed", () => {
  const root = tmp();
  const a = makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z", {
    manifest: { release: { image: "ghcr.io/claw/backend", tag: "1.0" } },
  });
  promote(root, a, "20240301-020000", ["weekly", "monthly"]);
  makeBackup(root, "daily", "20240302-020000", "2024-03-02T01:00:00.000Z");
  makeBackup(root, "pre-rollback", "20240303-101500", "2024-03-03T09:15:00.000Z");
  const rows = backupEntries(listBackups(root));
  assert.deepEqual(
    rows.map((r) => [r.index, r.id, r.tiers]),
    [
      [1, "20240302-020000", ["daily"]],
      [2, "20240301-020000", ["daily", "monthly", "weekly"]],
    ],
  );
  assert.equal(rows[1]?.dir, a);
  assert.equal(rows[1]?.release, "ghcr.io/claw/backend:1.0");
  assert.deepEqual(rows[1]?.components, ["postgres"]);
  assert.deepEqual(
    snapshotEntries(listBackups(root)).map((r) => [r.index, r.id, r.tiers]),
    [[0, "20240303-101500", ["pre-rollback"]]],
  );
  assert.deepEqual(backupEntries([]), []);
});

test("the listing shows the indexed backups, then the snapshots, then damaged directories with the reason", () => {
  const root = tmp();
  makeBackup(root, "daily", "20240302-020000", "2024-03-02T01:00:00.000Z");
  makeBackup(root, "pre-rollback", "20240303-101500", "2024-03-03T09:15:00.000Z");
  const noRelease = makeBackup(root, "daily", "20240304-020000", "2024-03-04T01:00:00.000Z");
  const m = JSON.parse(readFileSync(join(noRelease, "manifest.json"), "utf8"));
  delete m.release;
  writeFileSync(join(noRelease, "manifest.json"), JSON.stringify(m));
  const damaged: Array<{ dir: string; why: string }> = [];
  const all = listBackups(root, { onInvalid: (dir, why) => damaged.push({ dir, why }) });
  const text = formatListing(backupEntries(all), snapshotEntries(all), damaged, root);
  assert.match(text, /^1 {2}20240302-020000 {2}daily/m);
  assert.match(text, /snapshots taken before a rollback or restore[^\n]*\n {2}backups\/pre-rollback\/20240303-101500/);
  assert.match(text, /damaged \(not usable; left in place\):\n {2}backups\/daily\/20240304-020000: .*release is missing/);
});

test("the list of no backups says so", () => {
  assert.equal(formatEntries([]), "no backups yet (backups/ is empty)");
});

test("the list is a padded table of index, id, tiers, size, release and components", () => {
  const rows = [
    {
      index: 1,
      id: "20240303-101500",
      tiers: ["pre-rollback"] as StoreTier[],
      dir: "",
      time: new Date(0),
      bytes: 512,
      release: "i:t",
      components: ["postgres" as const],
      kept: [],
    },
    {
      index: 2,
      id: "20240301-020000",
      tiers: ["daily", "weekly"] as StoreTier[],
      dir: "",
      time: new Date(0),
      bytes: 3 * 1024 * 1024 + 1,
      release: "ghcr.io/claw/backend:1.0",
      components: ["postgres" as const, "config" as const],
      kept: [],
    },
  ];
  assert.equal(
    formatEntries(rows),
    [
      "#  id               tier          size     release                   components",
      "1  20240303-101500  pre-rollback  512 B    i:t                       postgres",
      "2  20240301-020000  daily+weekly  3.0 MiB  ghcr.io/claw/backend:1.0  postgres,config",
    ].join("\n"),
  );
});

test("a --backup path must be a backup directory inside backups/", () => {
  const root = tmp();
  const dir = makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  makeBackup(root, "daily", "x", "2024-03-01T01:00:00.000Z", { dirName: "../.tmp-x" });
  assert.equal(resolveBackupDir(root, "backups/daily/20240301-020000"), dir);
  assert.equal(resolveBackupDir(root, "./backups/daily/20240301-020000/"), dir);
  assert.equal(resolveBackupDir(root, dir), dir);
  for (const given of ["/tmp", "backups", "backups/", "backups/../x", "backups/.tmp-x", "backups/daily/../../etc", ".."]) {
    const e = invalidBackup(() => resolveBackupDir(root, given));
    assert.equal(e.message, `${given} is not a backup directory under backups/`, given);
    assert.equal(e.hint, "list the backups with --list");
  }
  assert.match(invalidBackup(() => resolveBackupDir(root, "backups/daily/20991231-000000")).message, /it has no manifest\.json$/);
});

test("leftover cleaning removes the staging dirs of dead runs and nothing else", () => {
  const root = tmp();
  assert.deepEqual(cleanLeftovers(root), []);
  makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  const staging = newStagingDir(root, "20240302-020000");
  assert.equal(staging, join(root, "backups", `.tmp-20240302-020000-${process.pid}`));
  writeFileSync(join(staging, "redis.rdb"), "partial");
  mkdirSync(join(root, "backups", ".tmp-20240303-020000-1"));
  mkdirSync(join(root, "backups", "notes"));
  assert.deepEqual(cleanLeftovers(root).sort(), [`.tmp-20240302-020000-${process.pid}`, ".tmp-20240303-020000-1"].sort());
  assert.deepEqual(readdirSync(join(root, "backups")).sort(), ["daily", "notes"]);
  assert.ok(existsSync(join(root, "backups", "daily", "20240301-020000", "manifest.json")));
});

test("leftover cleaning keeps this run's own scratch dirs (decrypted artifacts in use) and removes a dead run's", () => {
  const root = tmp();
  const mine = newWorkDir(root, "decrypt");
  mkdirSync(join(root, "backups", ".tmp-decrypt-p1-abc123"));
  assert.deepEqual(cleanLeftovers(root), [".tmp-decrypt-p1-abc123"]);
  assert.ok(existsSync(mine));
  assert.equal(statSync(mine).mode & 0o777, 0o700);
});

test("leftover cleaning also removes a promotion that died halfway (backups/<tier>/.tmp-<id>)", () => {
  const root = tmp();
  const dir = makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  promote(root, dir, "20240301-020000", ["weekly"]);
  // What a kill between linkSync and renameSync in promote() leaves behind:
  mkdirSync(join(root, "backups", "monthly", ".tmp-20240301-020000"), { recursive: true });
  cleanLeftovers(root);
  assert.equal(existsSync(join(root, "backups", "monthly", ".tmp-20240301-020000")), false);
});

test("a prune removes exactly the listed backups/<tier>/<id> dirs and refuses anything that is not one", () => {
  const root = tmp();
  makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  makeBackup(root, "daily", "20240302-020000", "2024-03-02T01:00:00.000Z");
  makeBackup(root, "weekly", "20240301-020000", "2024-03-01T01:00:00.000Z");
  makeBackup(root, "pre-rollback", "20240301-020000", "2024-03-01T01:00:00.000Z");
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc", "passwd"), "must survive");
  const t = new Date("2024-03-01T01:00:00.000Z");
  const removed = applyPrune(root, {
    remove: [
      { tier: "daily", id: "20240301-020000", time: t },
      { tier: "weekly", id: "../../etc", time: t },
      { tier: "daily", id: "20240301-020000/../../../etc", time: t },
      { tier: "pre-rollback" as Tier, id: "20240301-020000", time: t },
      { tier: "../.." as Tier, id: "20240301-020000", time: t },
      { tier: "monthly", id: "20240101-020000", time: t },
    ],
    keep: [],
  });
  assert.deepEqual(removed, ["daily/20240301-020000", "monthly/20240101-020000"]);
  assert.equal(existsSync(join(root, "backups", "daily", "20240301-020000")), false);
  assert.ok(existsSync(join(root, "backups", "daily", "20240302-020000", "manifest.json")));
  assert.ok(existsSync(join(root, "backups", "weekly", "20240301-020000", "manifest.json")));
  assert.ok(existsSync(join(root, "backups", "pre-rollback", "20240301-020000", "manifest.json")));
  assert.equal(readFileSync(join(root, "etc", "passwd"), "utf8"), "must survive");
});

test("committing a staging dir renames it into its tier and refuses to replace an existing backup", () => {
  const root = tmp();
  const first = newStagingDir(root, "20240301-020000");
  writeFileSync(join(first, "manifest.json"), "first");
  const dir = commitStaging(root, first, "daily", "20240301-020000");
  assert.equal(dir, join(root, "backups", "daily", "20240301-020000"));
  assert.equal(existsSync(first), false);
  const second = join(root, "backups", ".tmp-20240301-020000-second");
  mkdirSync(second);
  writeFileSync(join(second, "manifest.json"), "second");
  assert.throws(
    () => commitStaging(root, second, "daily", "20240301-020000"),
    (e: unknown) => {
      assert.ok(e instanceof ClawError);
      assert.equal(e.message, "backup daily/20240301-020000 already exists");
      return true;
    },
  );
  assert.equal(readFileSync(join(dir, "manifest.json"), "utf8"), "first");
  assert.ok(existsSync(second));
  assert.equal(commitStaging(root, second, "pre-restore", "20240301-020000"), join(root, "backups", "pre-restore", "20240301-020000"));
});
