import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Manifest } from "../../../lib/backup/manifest.ts";
import { planSnapshotPrune, RetentionError, type SnapshotRef } from "../../../lib/backup/retention.ts";
import { prune } from "../../../lib/backup/run.ts";
import {
  backupEntries,
  formatListing,
  listBackups,
  pruneSnapshots,
  pruneSnapshotsAfterSuccess,
  type StoreTier,
  snapshotEntries,
  snapshotPruneMarks,
  UNDO_FILE,
  undoProtection,
} from "../../../lib/backup/store.ts";
import { listCommand } from "../../../lib/cli/backup.ts";
import { ExitCode } from "../../../lib/core/errors.ts";
import type { Output } from "../../../lib/core/output.ts";
import type { SnapshotTier } from "../../../lib/core/vocabulary/tiers.ts";
import { DEFAULT_POLICY, type SnapshotPolicy } from "../../../lib/project/config.ts";
import type { Project } from "../../../lib/project/project.ts";
import { writeUndo } from "../../../lib/restore/undo.ts";
import { expectError, tmp } from "../helpers.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-03-20T12:00:00.000Z");
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY);

const policy = (keep = 3, days = 7, over: Partial<SnapshotPolicy["keep"]> = {}): SnapshotPolicy => ({
  keep: { "pre-rollback": keep, "pre-restore": keep, "pre-deploy": keep, "pre-migrate": keep, ...over },
  days,
});

const snap = (tier: SnapshotTier, id: string, time: Date): SnapshotRef => ({ tier, id, time });
const keys = (refs: readonly SnapshotRef[] | undefined) => (refs ?? []).map((s) => `${s.tier}/${s.id}`);
const retentionError = (fn: () => unknown) => expectError(RetentionError, ExitCode.failed, fn);

/** Snapshots of one tier, `ages` days old, ids 20260301-00000N in the order given. */
const series = (tier: SnapshotTier, ages: readonly number[]) => ages.map((a, i) => snap(tier, `20260301-00000${i}`, daysAgo(a)));

// ---- the plan ------------------------------------------------------------------------------------

test("snapshots older than the days are removed except the newest `keep` of their tier", () => {
  const all = series("pre-rollback", [10, 20, 30, 40, 50]);
  const plan = planSnapshotPrune(all, policy(3, 7), NOW);
  assert.deepEqual(keys(plan.keep), ["pre-rollback/20260301-000000", "pre-rollback/20260301-000001", "pre-rollback/20260301-000002"]);
  assert.deepEqual(keys(plan.remove), ["pre-rollback/20260301-000003", "pre-rollback/20260301-000004"]);
  assert.equal(plan.future, undefined);
});

test("every snapshot younger than the days is kept however many there are; exactly `days` old is old", () => {
  const young = series("pre-deploy", [0, 1, 2, 3, 4, 5, 6.99]);
  assert.deepEqual(planSnapshotPrune(young, policy(1, 7), NOW).remove, []);
  const edge = [snap("pre-deploy", "20260301-000000", daysAgo(1)), snap("pre-deploy", "20260301-000001", daysAgo(7))];
  assert.deepEqual(keys(planSnapshotPrune(edge, policy(1, 7), NOW).remove), ["pre-deploy/20260301-000001"]);
});

test("the newest are chosen by their true time, not by their id", () => {
  // Ids are wall-clock names: here the id order is the opposite of the time order.
  const all = [snap("pre-restore", "20260101-000000", daysAgo(10)), snap("pre-restore", "20260201-000000", daysAgo(20))];
  assert.deepEqual(keys(planSnapshotPrune(all, policy(1, 7), NOW).remove), ["pre-restore/20260201-000000"]);
});

test("the undo record's snapshot is kept however old", () => {
  const all = series("pre-rollback", [10, 20, 30]);
  const plan = planSnapshotPrune(all, policy(1, 7), NOW, new Set(["pre-rollback/20260301-000002"]));
  assert.deepEqual(keys(plan.remove), ["pre-rollback/20260301-000001"]);
  // A key of another tier protects nothing here.
  assert.deepEqual(keys(planSnapshotPrune(all, policy(1, 7), NOW, new Set(["pre-restore/20260301-000002"])).remove), [
    "pre-rollback/20260301-000001",
    "pre-rollback/20260301-000002",
  ]);
});

test("a snapshot dated in the future is kept, listed as future, and does not count among the newest", () => {
  const all = [
    snap("pre-migrate", "20260401-000000", new Date(NOW.getTime() + DAY)),
    snap("pre-migrate", "20260301-000000", daysAgo(10)),
    snap("pre-migrate", "20260201-000000", daysAgo(40)),
  ];
  const plan = planSnapshotPrune(all, policy(1, 7), NOW);
  assert.deepEqual(keys(plan.keep), ["pre-migrate/20260401-000000", "pre-migrate/20260301-000000"]);
  assert.deepEqual(keys(plan.remove), ["pre-migrate/20260201-000000"]);
  assert.deepEqual(keys(plan.future), ["pre-migrate/20260401-000000"]);
});

test("a snapshot whose time is invalid is kept (its age cannot be judged)", () => {
  const all = [snap("pre-rollback", "20260301-000000", daysAgo(10)), snap("pre-rollback", "20260101-000000", new Date(Number.NaN))];
  const plan = planSnapshotPrune(all, policy(1, 7), NOW);
  assert.deepEqual(plan.remove, []);
  assert.equal(plan.future, undefined);
});

test("each tier is planned on its own, with its own keep", () => {
  const all = [...series("pre-deploy", [10, 11, 12, 13, 14, 15]), ...series("pre-rollback", [10, 11, 12])];
  const plan = planSnapshotPrune(all, policy(1, 7, { "pre-deploy": 5 }), NOW);
  assert.deepEqual(keys(plan.remove), ["pre-deploy/20260301-000005", "pre-rollback/20260301-000001", "pre-rollback/20260301-000002"]);
  // Young snapshots of one tier do not make another tier's old ones count as kept.
  const mixed = [...series("pre-restore", [0, 1, 2]), ...series("pre-migrate", [30, 40])];
  assert.deepEqual(keys(planSnapshotPrune(mixed, policy(1, 7), NOW).remove), ["pre-migrate/20260301-000001"]);
});

test("the newest snapshot of every tier survives even a keep of 1 and a one-day window", () => {
  const all = (["pre-rollback", "pre-restore", "pre-deploy", "pre-migrate"] as const).flatMap((t) => series(t, [100, 200, 300]));
  const plan = planSnapshotPrune(all, policy(1, 1), NOW);
  assert.deepEqual(keys(plan.keep), [
    "pre-rollback/20260301-000000",
    "pre-restore/20260301-000000",
    "pre-deploy/20260301-000000",
    "pre-migrate/20260301-000000",
  ]);
  assert.equal(plan.remove.length, 8);
  assert.deepEqual(planSnapshotPrune([], policy(1, 1), NOW), { remove: [], keep: [] });
});

test("a policy that is not positive whole numbers, an unknown tier or an invalid now is refused", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.match(retentionError(() => planSnapshotPrune([], policy(3, 7, { "pre-migrate": bad }), NOW)).message, /keep for pre-migrate/);
    assert.match(retentionError(() => planSnapshotPrune([], policy(3, bad), NOW)).message, /days must be a positive whole number/);
  }
  const { "pre-restore": _, ...missing } = policy().keep;
  retentionError(() => planSnapshotPrune([], { keep: missing as SnapshotPolicy["keep"], days: 7 }, NOW));
  assert.match(
    retentionError(() => planSnapshotPrune([snap("daily" as SnapshotTier, "20260301-000000", NOW)], policy(), NOW)).message,
    /unknown snapshot tier "daily"/,
  );
  retentionError(() => planSnapshotPrune([], policy(), new Date(Number.NaN)));
});

// ---- the store -----------------------------------------------------------------------------------

function makeBackup(root: string, tier: StoreTier, id: string, time: Date, dirName = id): string {
  const dir = join(root, "backups", tier, dirName);
  mkdirSync(dir, { recursive: true });
  const m: Manifest = {
    format: "claw-ops-backup",
    version: 1,
    id,
    createdAt: time.toISOString(),
    finishedAt: time.toISOString(),
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
        artifacts: [
          { file: "postgres-claw_ai.dump", bytes: 100, sha256: "0".repeat(64) },
          { file: "postgres-globals.sql", bytes: 0, sha256: "0".repeat(64) },
        ],
        tools: {},
        counts: {},
        notes: [],
      },
    },
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
  writeFileSync(join(dir, "postgres-claw_ai.dump"), "x".repeat(100));
  return dir;
}

const ls = (root: string, tier: string) => (existsSync(join(root, "backups", tier)) ? readdirSync(join(root, "backups", tier)).sort() : []);

/** Old snapshots in every tier (10, 20, 30 days), an old daily backup, and a young pre-deploy. */
function store(): string {
  const root = tmp("snapshots");
  for (const tier of ["pre-rollback", "pre-restore", "pre-deploy", "pre-migrate"] as const)
    for (const [i, age] of [10, 20, 30].entries()) makeBackup(root, tier, `2026020${i + 1}-100000`, daysAgo(age));
  makeBackup(root, "pre-deploy", "20260319-100000", daysAgo(1));
  makeBackup(root, "daily", "20260101-020000", daysAgo(80));
  return root;
}

test("pruning snapshots removes what the plan says, in the tiers asked for only, and never a regular backup", () => {
  const root = store();
  const removed = pruneSnapshots(root, policy(1, 7), NOW, ["pre-deploy"]);
  assert.deepEqual(removed.sort(), ["pre-deploy/20260201-100000", "pre-deploy/20260202-100000", "pre-deploy/20260203-100000"]);
  assert.deepEqual(ls(root, "pre-deploy"), ["20260319-100000"]);
  assert.deepEqual(ls(root, "pre-rollback"), ["20260201-100000", "20260202-100000", "20260203-100000"]);
  const rest = pruneSnapshots(root, policy(2, 7), NOW);
  assert.deepEqual(rest.sort(), ["pre-migrate/20260203-100000", "pre-restore/20260203-100000", "pre-rollback/20260203-100000"]);
  assert.deepEqual(ls(root, "daily"), ["20260101-020000"]);
  assert.deepEqual(pruneSnapshots(tmp(), policy(), NOW), []);
});

test("the snapshot the undo record names is never pruned", () => {
  const root = store();
  writeUndo(root, join(root, "backups/pre-rollback/20260203-100000"), "rollback", "20260101-020000", daysAgo(30));
  assert.deepEqual(undoProtection(root), { kind: "snapshot", key: "pre-rollback/20260203-100000" });
  const removed = pruneSnapshots(root, policy(1, 7), NOW, ["pre-rollback"]);
  assert.deepEqual(removed, ["pre-rollback/20260202-100000"]);
  assert.deepEqual(ls(root, "pre-rollback"), ["20260201-100000", "20260203-100000"]);
});

test("while the undo record is unreadable no pre-rollback or pre-restore snapshot is pruned, and that is warned", () => {
  const root = store();
  writeFileSync(join(root, "backups", UNDO_FILE), "{ not json");
  assert.equal(undoProtection(root).kind, "unreadable");
  const warnings: string[] = [];
  const removed = pruneSnapshots(root, policy(1, 7), NOW, undefined, (m) => warnings.push(m));
  assert.deepEqual(removed.sort(), [
    "pre-deploy/20260201-100000",
    "pre-deploy/20260202-100000",
    "pre-deploy/20260203-100000",
    "pre-migrate/20260202-100000",
    "pre-migrate/20260203-100000",
  ]);
  assert.equal(ls(root, "pre-rollback").length, 3);
  assert.equal(ls(root, "pre-restore").length, 3);
  assert.match(warnings.join("\n"), /backups\/undo\.json is unreadable \(it is not JSON\)/);
  writeFileSync(join(root, "backups", UNDO_FILE), JSON.stringify({ snapshot: "../../etc" }));
  assert.deepEqual(undoProtection(root), { kind: "unreadable", why: "it names no snapshot" });
  assert.deepEqual(undoProtection(tmp()), { kind: "none" });
});

test("a snapshot directory whose name is not a backup id is never removed; a future one is warned about", () => {
  const root = tmp("snapshots");
  makeBackup(root, "pre-restore", "20260301-100000", daysAgo(10));
  makeBackup(root, "pre-restore", "keep-me", daysAgo(30));
  makeBackup(root, "pre-restore", "20260101-100000", daysAgo(40));
  makeBackup(root, "pre-restore", "20260401-100000", new Date(NOW.getTime() + DAY));
  const warnings: string[] = [];
  assert.deepEqual(
    pruneSnapshots(root, policy(1, 7), NOW, undefined, (m) => warnings.push(m)),
    ["pre-restore/20260101-100000"],
  );
  assert.deepEqual(ls(root, "pre-restore"), ["20260301-100000", "20260401-100000", "keep-me"]);
  assert.match(warnings.join("\n"), /snapshot pre-restore\/20260401-100000 is dated in the future/);
});

test("a prune after a run that worked never throws: a wrong setting is a warning", () => {
  const root = store();
  const warnings: string[] = [];
  const removed = pruneSnapshotsAfterSuccess(
    root,
    () => {
      throw new Error("BACKUP_SNAPSHOT_KEEP must be a positive whole number of snapshots");
    },
    ["pre-migrate"],
    (m) => warnings.push(m),
  );
  assert.deepEqual(removed, []);
  assert.deepEqual(warnings, ["snapshots not pruned: BACKUP_SNAPSHOT_KEEP must be a positive whole number of snapshots"]);
  assert.deepEqual(
    pruneSnapshotsAfterSuccess(
      root,
      () => policy(1, 7),
      ["pre-migrate"],
      () => undefined,
    ),
    ["pre-migrate/20260202-100000", "pre-migrate/20260203-100000"],
  );
});

// ---- the listing ---------------------------------------------------------------------------------

test("the listing marks each snapshot the policy would remove, with the reason, and nothing else", () => {
  const root = store();
  writeUndo(root, join(root, "backups/pre-rollback/20260203-100000"), "rollback", "20260101-020000", daysAgo(30));
  const all = listBackups(root);
  const marks = snapshotPruneMarks(root, policy(2, 7), NOW, all);
  assert.deepEqual([...marks.keys()].sort(), [
    "pre-deploy/20260202-100000",
    "pre-deploy/20260203-100000",
    "pre-migrate/20260203-100000",
    "pre-restore/20260203-100000",
  ]);
  assert.equal(marks.get("pre-restore/20260203-100000"), "older than 7 days and not among the newest 2 pre-restore");
  const text = formatListing(backupEntries(all), snapshotEntries(all), [], root, marks);
  assert.match(
    text,
    /^ {2}backups\/pre-restore\/20260203-100000 .*postgres {2}\(pruned by policy: older than 7 days and not among the newest 2 pre-restore\)$/m,
  );
  assert.match(text, /^ {2}backups\/pre-rollback\/20260203-100000 .*postgres$/m);
  assert.match(text, /^ {2}backups\/pre-restore\/20260201-100000 .*postgres$/m);
  assert.match(text, /^1 {2}20260101-020000 {2}daily .*postgres$/m);
  // Nothing was removed by looking.
  assert.equal(ls(root, "pre-deploy").length, 4);
});

/** The --json documents `fn` printed (lib/cli/result.ts writes each to stdout). */
function jsonPrinted(fn: () => void): unknown[] {
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => printed.push(chunk) > 0) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return printed.map((p) => JSON.parse(p) as unknown);
}

test("--list --json has willPrune on every snapshot row, from the policy in .env.prod", () => {
  const root = store();
  writeFileSync(join(root, ".env.prod"), "BACKUP_SNAPSHOT_KEEP=2\nBACKUP_SNAPSHOT_DAYS=7\nDEPLOY_KEEP_BACKUPS=4\n", { mode: 0o600 });
  const warnings: string[] = [];
  const out = { json: true, warn: (m: string) => warnings.push(m) } as unknown as Output;
  const results = jsonPrinted(() => assert.equal(listCommand(out, root, NOW), 0));
  const rows = results[0] as Array<{ id: string; tiers: string[]; index: number; willPrune?: boolean }>;
  const marked = rows.filter((r) => r.willPrune).map((r) => `${r.tiers[0]}/${r.id}`);
  assert.deepEqual(marked.sort(), ["pre-migrate/20260203-100000", "pre-restore/20260203-100000", "pre-rollback/20260203-100000"]);
  assert.ok(rows.filter((r) => r.index === 0).every((r) => typeof r.willPrune === "boolean"));
  assert.ok(rows.filter((r) => r.index > 0).every((r) => !("willPrune" in r)));
  assert.deepEqual(warnings, []);
});

test("--list still lists when the snapshot policy cannot be read: nothing is marked, and it says why", () => {
  const root = store();
  writeFileSync(join(root, ".env.prod"), "BACKUP_SNAPSHOT_DAYS=0\n", { mode: 0o600 });
  const warnings: string[] = [];
  const out = { json: true, warn: (m: string) => warnings.push(m) } as unknown as Output;
  const results = jsonPrinted(() => assert.equal(listCommand(out, root, NOW), 0));
  const rows = results[0] as Array<{ willPrune?: boolean }>;
  assert.equal(rows.length, 14);
  assert.ok(rows.every((r) => !("willPrune" in r)));
  assert.match(warnings.join("\n"), /snapshots not marked for pruning: BACKUP_SNAPSHOT_DAYS must be a positive whole number of days/);
});

test("a prune (backup.mts --prune, the nightly backup) applies regular retention, then the snapshot policy to all four tiers", () => {
  const root = store();
  makeBackup(root, "daily", "20260318-020000", daysAgo(2));
  const project = { root, config: { retention: () => DEFAULT_POLICY, snapshotRetention: () => policy(2, 7) } } as unknown as Project;
  assert.deepEqual(prune(project, NOW), [
    "daily/20260101-020000",
    "pre-deploy/20260202-100000",
    "pre-deploy/20260203-100000",
    "pre-migrate/20260203-100000",
    "pre-restore/20260203-100000",
    "pre-rollback/20260203-100000",
  ]);
  assert.deepEqual(ls(root, "daily"), ["20260318-020000"]);
  // The snapshot policy is read before anything is removed: a wrong one refuses the whole prune.
  const again = store();
  const wrong = {
    root: again,
    config: {
      retention: () => DEFAULT_POLICY,
      snapshotRetention: () => {
        throw new RetentionError("BACKUP_SNAPSHOT_KEEP is wrong");
      },
    },
  } as unknown as Project;
  makeBackup(again, "daily", "20260318-020000", daysAgo(2));
  assert.throws(() => prune(wrong, NOW), RetentionError);
  assert.deepEqual(ls(again, "daily"), ["20260101-020000", "20260318-020000"]);
});
