/**
 * The restore run record (lib/backup/restore-record.ts): its transitions, what the next run
 * does with a record at each state, its file; and the two callers that go through the
 * registry with it: recoverDeadSwaps and sweepKept.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Component, KeptPlace } from "../../../lib/backup/components/component.ts";
import { sweepKept } from "../../../lib/backup/kept.ts";
import { COMPONENTS, type ComponentName } from "../../../lib/backup/manifest.ts";
import { markSwapping, recoverDeadSwaps } from "../../../lib/backup/recover.ts";
import {
  bareMark,
  fileRunRecords,
  plannedRecord,
  type RestoreRunRecord,
  RUN_RECORD,
  type RunState,
  resumeOrUndo,
  transition,
} from "../../../lib/backup/restore-record.ts";
import type { Output } from "../../../lib/core/output.ts";
import type { Project } from "../../../lib/project/project.ts";
import { tmp } from "../helpers.ts";
import { MemoryRecords } from "../restore/fakes.ts";

const AT = new Date("2026-03-01T12:00:00Z");
const PLAN = {
  event: "restore" as const,
  backup: "backups/daily/20260301-020000",
  backupId: "20260301-020000",
  components: ["postgres", "redis"] as ComponentName[],
  snapshotTier: "pre-restore" as const,
  inPlace: ["postgres", "redis"] as ComponentName[],
};
const SNAP = "backups/pre-restore/20260301-120000";

/** The record of a run that got to `state` (swapping from frozen to swapped), its snapshot from frozen on. */
function reached(state: RunState): RestoreRunRecord {
  const path: RunState[] = ["prepared", "snapshotted", "frozen", "swapped", "started"];
  let rec = plannedRecord(PLAN, undefined, AT);
  for (const s of path.slice(0, path.indexOf(state) + 1)) {
    rec = transition(rec, s, AT, s === "frozen" ? { swapping: true, snapshot: SNAP } : s === "swapped" ? { swapping: false } : {});
  }
  return rec;
}

test("resumeOrUndo: what the next run does with the record a run left, at each state", () => {
  const cases: Array<[string, RestoreRunRecord | undefined, ReturnType<typeof resumeOrUndo>]> = [
    ["no record", undefined, { action: "nothing" }],
    ["planned", reached("planned"), { action: "nothing" }],
    ["prepared", reached("prepared"), { action: "nothing" }],
    ["snapshotted", reached("snapshotted"), { action: "finish" }],
    ["frozen (swaps may be half done)", reached("frozen"), { action: "recover swaps", snapshot: SNAP }],
    ["swapped", reached("swapped"), { action: "finish", snapshot: SNAP }],
    ["started", reached("started"), { action: "nothing" }],
    ["failed before the swaps", transition(reached("snapshotted"), "failed", AT), { action: "nothing" }],
    ["failed mid-swap", transition(reached("frozen"), "failed", AT), { action: "recover swaps", snapshot: SNAP }],
    ["failed after the swaps", transition(reached("swapped"), "failed", AT), { action: "offer undo", snapshot: SNAP }],
    ["recovered after dying mid-swap", transition(reached("frozen"), "recovered", AT, { swapping: false }), { action: "finish", snapshot: SNAP }],
    ["a bare swap mark", bareMark(AT), { action: "recover swaps" }],
  ];
  for (const [what, rec, next] of cases) assert.deepEqual(resumeOrUndo(rec), next, what);
});

test("a state the machine does not have next is refused; failed and recovered keep the state reached", () => {
  assert.throws(() => transition(reached("planned"), "swapped", AT), /planned → swapped/);
  assert.throws(() => transition(reached("started"), "failed", AT), /started → failed/);
  assert.throws(() => transition(reached("swapped"), "recovered", AT), /swapped → recovered/, "nothing to recover without the mark");
  const failed = transition(reached("frozen"), "failed", AT, { error: "swap redis failed" });
  assert.equal(failed.reached, "frozen");
  assert.equal(transition(failed, "recovered", AT, { swapping: false }).reached, "frozen");
  assert.deepEqual(
    reached("started").history.map((h) => h.state),
    ["planned", "prepared", "snapshotted", "frozen", "swapped", "started"],
  );
});

test("a new run carries the mark of a dead run whose half swap could not be put back yet", () => {
  assert.equal(plannedRecord(PLAN, reached("frozen"), AT).swapping, true);
  assert.equal(plannedRecord(PLAN, reached("started"), AT).swapping, false);
});

test("the record file: written whole by rename, 0600, under backups/; an unreadable one reads as a swap mark", () => {
  const root = tmp("run-record");
  const store = fileRunRecords(root);
  assert.equal(store.read(), undefined);
  store.write(reached("frozen"));
  const file = join(root, "backups", RUN_RECORD);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!existsSync(`${file}.tmp`));
  assert.deepEqual(store.read(), reached("frozen"));
  writeFileSync(file, "{ torn");
  assert.equal(store.read()?.swapping, true);
});

test("markSwapping marks the last run's record, or writes a bare mark", () => {
  const root = tmp("run-record");
  markSwapping(root);
  assert.equal(fileRunRecords(root).read()?.swapping, true);
  fileRunRecords(root).write(reached("started"));
  markSwapping(root);
  assert.deepEqual(fileRunRecords(root).read(), { ...reached("started"), swapping: true });
});

function fakeProject(root: string): { project: Project; out: Output; warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  const out = { warn: (m: string) => warnings.push(m), info: (m: string) => infos.push(m) } as unknown as Output;
  return { project: { root } as unknown as Project, out, warnings, infos };
}

/** A registry whose components recover with these lines (none: no recover()) and keep these places. */
function registry(o: { recover?: Partial<Record<ComponentName, string[] | "later">>; kept?: Partial<Record<ComponentName, KeptPlace[]>> }) {
  const called: ComponentName[] = [];
  const reg = Object.fromEntries(
    COMPONENTS.map((c) => {
      const r = o.recover?.[c];
      const k = o.kept?.[c];
      const comp: Partial<Component> = {
        name: c,
        ...(r !== undefined
          ? {
              recover: async () => {
                called.push(c);
                return r === "later" ? { lines: [], later: true } : { lines: r };
              },
            }
          : {}),
        ...(k ? { kept: () => k } : {}),
      };
      return [c, comp];
    }),
  ) as unknown as Record<ComponentName, Component>;
  return { reg, called };
}

test("recoverDeadSwaps asks every component of the registry, only while the record says swapping, then records recovered", async () => {
  const { project, out, warnings } = fakeProject(tmp("recover"));
  const records = new MemoryRecords();
  const { reg, called } = registry({ recover: { postgres: [], redis: ["redis: moved back x"], uploads: [] } });
  records.write(reached("started"));
  await recoverDeadSwaps(project, out, { registry: reg, records });
  assert.deepEqual(called, [], "no mark: nothing is looked at");
  records.write({ ...reached("frozen") });
  await recoverDeadSwaps(project, out, { registry: reg, records });
  assert.deepEqual(called, ["postgres", "redis", "uploads"]);
  assert.deepEqual(warnings, ["a restore that died left this half-swapped; put back together: redis: moved back x"]);
  assert.equal(records.read()?.state, "recovered");
  assert.equal(records.read()?.swapping, false);
});

test("recoverDeadSwaps leaves the mark while a component cannot look yet (Postgres stopped)", async () => {
  const { project, out } = fakeProject(tmp("recover"));
  const records = new MemoryRecords();
  records.write(reached("frozen"));
  await recoverDeadSwaps(project, out, { registry: registry({ recover: { postgres: "later", redis: [] } }).reg, records });
  assert.equal(records.read()?.state, "frozen");
  assert.equal(records.read()?.swapping, true);
});

test("the .swapping mark an earlier claw-ops left is still recovered, then removed", async () => {
  const root = tmp("recover");
  mkdirSync(join(root, "backups"));
  writeFileSync(join(root, "backups", ".swapping"), "123\n");
  const { project, out } = fakeProject(root);
  const { reg, called } = registry({ recover: { redis: [] } });
  await recoverDeadSwaps(project, out, { registry: reg, records: new MemoryRecords() });
  assert.deepEqual(called, ["redis"]);
  assert.ok(!existsSync(join(root, "backups", ".swapping")));
});

test("sweepKept drops, in every place the registry's components keep snapshots, the tags no snapshot directory bears", async () => {
  const root = tmp("sweep");
  mkdirSync(join(root, "backups", "pre-restore", "20260301-120000"), { recursive: true });
  const dropped: string[] = [];
  const place = (what: string, tags: string[]): KeptPlace => ({
    what,
    list: async () => tags,
    drop: async (t) => void dropped.push(...t.map((x) => `${what}:${x}`)),
  });
  const broken: KeptPlace = {
    what: "etcd",
    list: async () => {
      throw new Error("no container");
    },
    drop: async () => undefined,
  };
  const { reg } = registry({
    kept: { postgres: [place("postgres", ["20260301-120000", "20260201-120000"])], milvus: [broken, place("minio", ["20260101-000000", "junk"])] },
  });
  const { project, out, warnings, infos } = fakeProject(root);
  const removed = await sweepKept(project, out, reg);
  assert.deepEqual(removed.sort(), ["minio:20260101-000000", "postgres:20260201-120000"]);
  assert.deepEqual(dropped.sort(), removed);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /etcd.*no container/);
  assert.equal(infos.length, 1);
});
