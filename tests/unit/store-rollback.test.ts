import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { hashFile, sha256File, type Manifest } from "../../lib/backup/manifest.ts";
import { createHash } from "node:crypto";
import type { Tier } from "../../lib/backup/retention.ts";
import {
  applyPrune, backupEntries, cleanLeftovers, commitStaging, newWorkDir, formatEntries, listBackups, newStagingDir, promote, refsOf,
  resolveBackupDir, type StoreTier,
} from "../../lib/backup/store.ts";
import { ClawError, ExitCode, InvalidBackupError, UsageError } from "../../lib/core/errors.ts";
import { previousSuccess, renderMetrics, writeMetrics, type BackupMetrics } from "../../lib/infra/metrics.ts";
import { webhookBody } from "../../lib/infra/notify.ts";
import { pickByIndex, rollbackComponents } from "../../lib/cli/rollback.ts";
import { REDACTED, Secret } from "../../lib/core/secret.ts";
import { expectError } from "./expect-error.ts";

const made: string[] = [];
after(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), "claw-store-")); made.push(d); return d; };

function manifest(id: string, createdAt: string, o: Partial<Manifest> = {}): Manifest {
  return {
    format: "claw-ops-backup", version: 1, id, createdAt, finishedAt: createdAt, host: "h", release: { image: "i", tag: "t" }, composeProject: null,
    components: { postgres: { name: "postgres", status: "ok", startedAt: "", finishedAt: "", durationMs: 1, artifacts: [], tools: {}, counts: {}, notes: [] } },
    ...o,
  };
}

/** backups/<tier>/<dir>/ with a manifest (for `id`) and an artifact of `bytes` bytes. */
function makeBackup(root: string, tier: StoreTier, id: string, createdAt: string, o: { dirName?: string; bytes?: number; manifest?: Partial<Manifest> } = {}): string {
  const dir = join(root, "backups", tier, o.dirName ?? id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest(id, createdAt, o.manifest)));
  writeFileSync(join(dir, "postgres-claw_ai.dump"), "x".repeat(o.bytes ?? 100));
  return dir;
}

const invalidBackup = (fn: () => unknown): InvalidBackupError => expectError(InvalidBackupError, ExitCode.invalidBackup, fn);

const usageError = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

// ---- store ------------------------------------------------------------------------------------------

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
  assert.deepEqual(list.map((b) => `${b.tier}/${b.id}`), ["daily/20240303-020000", "pre-rollback/20240302-101500", "daily/20240301-020000", "weekly/20240301-020000"]);
  assert.equal(list[0]?.dir, join(root, "backups", "daily", "20240303-020000"));
  assert.equal(list[0]?.time.toISOString(), "2024-03-03T01:00:00.000Z");
  const manifestBytes = JSON.stringify(manifest("20240303-020000", "2024-03-03T01:00:00.000Z")).length;
  assert.equal(list[0]?.bytes, 30 + manifestBytes);
  assert.deepEqual(invalid, [
    [join(root, "backups", "daily", "20240305-020000"), `${join(root, "backups", "daily", "20240305-020000")} is not a backup: it has no manifest.json`],
    [join(root, "backups", "daily", "20240307-020000"), "its manifest belongs to backup 20240306-020000, not 20240307-020000"],
  ]);
  assert.deepEqual(listBackups(root, { tiers: ["weekly"] }).map((b) => b.id), ["20240301-020000"]);
  assert.deepEqual(listBackups(tmp()), []);
});

test("only the retention tiers become prune refs", () => {
  const root = tmp();
  makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z");
  makeBackup(root, "pre-restore", "20240302-020000", "2024-03-02T01:00:00.000Z");
  assert.deepEqual(refsOf(listBackups(root)).map((r) => `${r.tier}/${r.id}`), ["daily/20240301-020000"]);
});

test("backup entries merge the tiers of one id into one row, newest first, indexed from 1", () => {
  const root = tmp();
  const a = makeBackup(root, "daily", "20240301-020000", "2024-03-01T01:00:00.000Z", { manifest: { release: { image: "ghcr.io/claw/backend", tag: "1.0" } } });
  promote(root, a, "20240301-020000", ["weekly", "monthly"]);
  makeBackup(root, "daily", "20240302-020000", "2024-03-02T01:00:00.000Z");
  makeBackup(root, "pre-rollback", "20240303-101500", "2024-03-03T09:15:00.000Z");
  const rows = backupEntries(listBackups(root));
  assert.deepEqual(rows.map((r) => [r.index, r.id, r.tiers]), [
    [1, "20240303-101500", ["pre-rollback"]],
    [2, "20240302-020000", ["daily"]],
    [3, "20240301-020000", ["daily", "monthly", "weekly"]],
  ]);
  assert.equal(rows[2]?.dir, a);
  assert.equal(rows[2]?.release, "ghcr.io/claw/backend:1.0");
  assert.deepEqual(rows[2]?.components, ["postgres"]);
  assert.deepEqual(backupEntries([]), []);
});

test("the list of no backups says so", () => {
  assert.equal(formatEntries([]), "no backups yet (backups/ is empty)");
});

test("the list is a padded table of index, id, tiers, size, release and components", () => {
  const rows = [
    { index: 1, id: "20240303-101500", tiers: ["pre-rollback"] as StoreTier[], dir: "", time: new Date(0), bytes: 512, release: "i:t", components: ["postgres" as const] },
    { index: 2, id: "20240301-020000", tiers: ["daily", "weekly"] as StoreTier[], dir: "", time: new Date(0), bytes: 3 * 1024 * 1024 + 1, release: "ghcr.io/claw/backend:1.0", components: ["postgres" as const, "config" as const] },
  ];
  assert.equal(formatEntries(rows), [
    "#  id               tier          size     release                   components",
    "1  20240303-101500  pre-rollback  512 B    i:t                       postgres",
    "2  20240301-020000  daily+weekly  3.0 MiB  ghcr.io/claw/backend:1.0  postgres,config",
  ].join("\n"));
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
  assert.deepEqual(cleanLeftovers(root).sort(), [".tmp-20240302-020000-" + process.pid, ".tmp-20240303-020000-1"].sort());
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
  assert.throws(() => commitStaging(root, second, "daily", "20240301-020000"), (e: unknown) => {
    assert.ok(e instanceof ClawError);
    assert.equal(e.message, "backup daily/20240301-020000 already exists");
    return true;
  });
  assert.equal(readFileSync(join(dir, "manifest.json"), "utf8"), "first");
  assert.ok(existsSync(second));
  assert.equal(commitStaging(root, second, "pre-restore", "20240301-020000"), join(root, "backups", "pre-restore", "20240301-020000"));
});

// ---- rollback -----------------------------------------------------------------------------------------

test("a rollback restores every component unless skipped", () => {
  assert.deepEqual(rollbackComponents({}), ["postgres", "redis", "milvus", "uploads", "config"]);
  assert.deepEqual(rollbackComponents({ "skip-config": true, "skip-uploads": false }), ["postgres", "redis", "milvus", "uploads"]);
});

test("the guide's database example keeps postgres and config", () => {
  // npx zx scripts/rollback.mts 1 --skip-redis --skip-milvus --skip-uploads
  assert.deepEqual(rollbackComponents({ "skip-redis": true, "skip-milvus": true, "skip-uploads": true }), ["postgres", "config"]);
});

test("the guide's configuration-only example keeps config", () => {
  // npx zx scripts/rollback.mts 1 --skip-db --skip-redis --skip-milvus --skip-uploads
  assert.deepEqual(rollbackComponents({ "skip-db": true, "skip-redis": true, "skip-milvus": true, "skip-uploads": true }), ["config"]);
  assert.deepEqual(rollbackComponents({ "skip-db": true, "skip-redis": true, "skip-milvus": true, "skip-uploads": true, "skip-config": true }), []);
});

test("a backup index picks from the newest (1) down", () => {
  const rows = ["newest", "middle", "oldest"];
  assert.equal(pickByIndex(rows, "1"), "newest");
  assert.equal(pickByIndex(rows, "3"), "oldest");
  assert.equal(pickByIndex(rows, "02"), "middle");
});

test("a backup index out of range or not a whole number is a usage error naming the problem", () => {
  const rows = ["newest", "middle", "oldest"];
  for (const [given, message] of [
    ["0", "no backup with index 0 (there are 3)"],
    ["99", "no backup with index 99 (there are 3)"],
    ["x", 'backup index must be a number, got "x"'],
    ["1.5", 'backup index must be a number, got "1.5"'],
    ["-1", 'backup index must be a number, got "-1"'],
    ["", 'backup index must be a number, got ""'],
    [" 1", 'backup index must be a number, got " 1"'],
  ] as const) {
    const e = usageError(() => pickByIndex(rows, given));
    assert.equal(e.message, message, given);
    assert.equal(e.hint, "see the indexes with --list");
  }
  const none = usageError(() => pickByIndex([], "1"));
  assert.equal(none.message, "there are no backups yet");
  assert.equal(none.hint, "take one with backup.mts");
});

// ---- metrics and notifications --------------------------------------------------------------------------

const okRun: BackupMetrics = {
  success: true,
  finishedAt: new Date("2024-03-01T02:05:00.999Z"),
  durationMs: 65_432,
  components: { postgres: { durationMs: 1500, bytes: 1048576 }, config: { durationMs: 12, bytes: 10240 } },
};

test("the metrics textfile of a successful run", () => {
  assert.equal(renderMetrics(okRun, 1_700_000_000), [
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
  ].join("\n"));
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

test("the webhook body is JSON with the notification's fields and a registered secret masked", () => {
  new Secret("super-secret-value-1");
  const body = webhookBody({
    event: "backup", status: "failure", host: "prod-1", backup: "20240301-020000", failedComponent: "postgres",
    reason: "pg_dump: password authentication failed (password super-secret-value-1)", durationMs: 1234, components: { postgres: "failed" },
  });
  assert.doesNotMatch(body, /super-secret-value-1/);
  const j = JSON.parse(body) as Record<string, unknown>;
  assert.equal(j.source, "claw-ops");
  assert.match(String(j.at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual({ ...j, at: "x" }, {
    source: "claw-ops", at: "x", event: "backup", status: "failure", host: "prod-1", backup: "20240301-020000", failedComponent: "postgres",
    reason: `pg_dump: password authentication failed (password ${REDACTED})`, durationMs: 1234, components: { postgres: "failed" },
  });
});

test("a registered secret holding a double quote or backslash is masked in the webhook body too", () => {
  new Secret('pa"ss\\word-42');
  const body = webhookBody({ event: "restore", status: "failure", host: "h", reason: 'auth failed for pa"ss\\word-42' });
  assert.doesNotMatch(String((JSON.parse(body) as { reason: string }).reason), /pa"ss\\word-42/);
});

test("file hashes read through one buffer equal the plain digest, whole or by byte range (inclusive end)", async () => {
  const root = tmp();
  const f = join(root, "blob");
  const data = Buffer.alloc(3 * (1 << 20) + 12345, 0);
  for (let i = 0; i < data.length; i += 4099) data[i] = i % 251;
  writeFileSync(f, data);
  assert.deepEqual(await sha256File(f), { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length });
  const part = await hashFile(f, "md5", 1 << 20, 2 * (1 << 20) + 99);
  assert.equal(part.hex, createHash("md5").update(data.subarray(1 << 20, 2 * (1 << 20) + 100)).digest("hex"));
  assert.equal(part.bytes, (1 << 20) + 100);
  assert.equal((await sha256File(join(root, "blob"))).bytes, data.length);
});
