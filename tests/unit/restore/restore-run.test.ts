/**
 * The restore state machine driven through fakes of its ports (fakes.ts): the order of its
 * effects, what a failure at each step leaves running and recorded, what the next run does
 * with the record a crash at each state left, and that the record names the undo.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ComponentName } from "../../../lib/backup/manifest.ts";
import { type RunState, resumeOrUndo } from "../../../lib/backup/restore-record.ts";
import { ExitCode, PreconditionError } from "../../../lib/core/errors.ts";
import { applyRestore } from "../../../lib/restore/apply.ts";
import { readUndo } from "../../../lib/restore/undo.ts";
import { MemoryRecords, SNAPSHOT_ID, type WorldOptions, world } from "./fakes.ts";

const SNAPSHOT = `backups/pre-restore/${SNAPSHOT_ID}`;
const STOP = "stop backend, celery-worker";
const START = "start backend, celery-worker";

async function restore(components: readonly ComponentName[], o: WorldOptions = {}) {
  const w = world(components, o);
  let thrown: unknown;
  const outcome = await applyRestore(w.project, w.out, w.plan, {}, w.ports).catch((e: unknown) => {
    thrown = e;
    return undefined;
  });
  return { ...w, outcome, thrown, rec: w.records.read()! };
}

/** The log without the info and warning lines. */
const effects = (log: readonly string[]) => log.filter((l) => !/^(info|warn): /.test(l));

test("a restore with in-place snapshots walks planned → prepared → snapshotted → frozen → swapped → started, effects in order", async () => {
  const r = await restore(["postgres", "redis", "config"], { inPlace: true });
  assert.equal(r.outcome?.error, undefined);
  assert.deepEqual(effects(r.log), [
    "remove one-offs",
    "check postgres",
    "check redis",
    "check config",
    "start left stopped",
    "snapshot write config",
    "prepare postgres",
    "prepare redis",
    STOP,
    "freeze postgres",
    "freeze redis",
    "snapshot commit config, postgres, redis",
    `undo record ${SNAPSHOT}`,
    "swap postgres",
    "swap redis",
    `mark moved postgres, redis in ${SNAPSHOT}`,
    "restore config",
    START,
  ]);
  assert.deepEqual(r.records.states(), ["planned", "prepared", "snapshotted", "frozen", "swapped", "started"]);
  assert.equal(r.rec.swapping, false);
  assert.deepEqual(r.rec.moved, ["postgres", "redis"]);
  assert.deepEqual(r.rec.plan?.inPlace, ["postgres", "redis"]);
  assert.equal(r.rec.snapshot, SNAPSHOT);
  assert.deepEqual(r.outcome?.results, { postgres: "restored", redis: "restored", milvus: "skipped", uploads: "skipped", config: "restored" });
  assert.equal(r.outcome?.definitionsChanged, true);
  assert.ok(r.outcome?.backendDowntimeMs !== undefined, "the backend's downtime is measured");
  // The swap mark is set exactly while the swaps run.
  assert.deepEqual(
    r.records.written.map((w) => `${w.state}${w.swapping ? " swapping" : ""}`).filter((s, i, all) => s !== all[i - 1]),
    ["planned", "prepared", "snapshotted", "frozen swapping", "swapped", "started"],
  );
  assert.deepEqual(resumeOrUndo(r.rec), { action: "nothing" });
});

test("a copied snapshot is committed, with its undo record, before the dependents stop", async () => {
  const r = await restore(["postgres", "config"]);
  const log = effects(r.log);
  assert.ok(log.indexOf(`undo record ${SNAPSHOT}`) < log.indexOf(STOP));
  // What was restored is not discarded: its staging became the live data.
  assert.deepEqual(log.slice(log.indexOf(STOP)), [STOP, "restore postgres", "restore config", START]);
  assert.equal(r.records.written.find((w) => w.state === "snapshotted")?.snapshot, SNAPSHOT);
});

// A failure at each step: what runs after it, what the outcome and the record say.
const failures: Array<{
  step: string;
  fail: string;
  thrown: boolean;
  reached: RunState;
  after: string[];
  next: ReturnType<typeof resumeOrUndo>["action"];
}> = [
  { step: "prepare", fail: "prepare redis", thrown: false, reached: "planned", after: ["snapshot discard", "discard postgres"], next: "nothing" },
  {
    step: "snapshot write",
    fail: "snapshot write config",
    thrown: true,
    reached: "prepared",
    after: ["prepare postgres", "prepare redis", "snapshot discard", "discard postgres", "discard redis"],
    next: "nothing",
  },
  {
    step: "freeze",
    fail: "freeze redis",
    thrown: false,
    reached: "snapshotted",
    after: ["thaw postgres", START, "snapshot discard", "discard postgres", "discard redis"],
    next: "nothing",
  },
  {
    step: "swap",
    fail: "swap redis",
    thrown: false,
    reached: "frozen",
    after: [`mark moved postgres, redis in ${SNAPSHOT}`, START, "discard redis"],
    next: "recover swaps",
  },
  { step: "config", fail: "restore config", thrown: false, reached: "swapped", after: [START], next: "offer undo" },
  { step: "start", fail: START, thrown: false, reached: "swapped", after: [], next: "offer undo" },
];

for (const f of failures) {
  test(`a failure at ${f.step}: what follows is only cleanup, the record says failed after ${f.reached}, the next run does "${f.next}"`, async () => {
    const r = await restore(["postgres", "redis", "config"], { inPlace: true, fail: [f.fail] });
    assert.equal(r.thrown !== undefined, f.thrown, "thrown, or returned as the outcome's error");
    const error = (r.thrown ?? r.outcome?.error) as Error;
    assert.match(error.message, new RegExp(`${f.fail} failed`));
    const log = effects(r.log);
    assert.deepEqual(log.slice(log.lastIndexOf(f.fail) + 1), f.after);
    assert.equal(r.rec.state, "failed");
    assert.equal(r.rec.reached, f.reached);
    assert.match(r.rec.error ?? "", new RegExp(f.fail));
    assert.equal(resumeOrUndo(r.rec).action, f.next);
    // Nothing is swapped once a step before the swaps failed.
    if (["planned", "prepared", "snapshotted"].includes(f.reached)) assert.ok(!log.some((l) => l.startsWith("swap ")));
  });
}

test("past the snapshot a precondition error is no longer exit 3: the live stack was touched", async () => {
  const w = world(["postgres"], { inPlace: true });
  w.ports.registry.postgres.freeze = async () => {
    throw new PreconditionError("service postgres has no container");
  };
  const outcome = await applyRestore(w.project, w.out, w.plan, {}, w.ports);
  assert.equal((outcome.error as PreconditionError).exitCode, ExitCode.failed);
  assert.equal(w.records.read()?.reached, "snapshotted");
});

test("a component whose in-place snapshot was never moved is skipped, and with nothing left no run is recorded", async () => {
  const w = world(["postgres"], { inPlace: true, unmoved: ["postgres"] });
  w.plan.manifest.components.postgres!.kept = { tag: "20260101-000000" };
  const outcome = await applyRestore(w.project, w.out, w.plan, {}, w.ports);
  assert.equal(outcome.results.postgres, "skipped");
  assert.deepEqual(w.records.written, []);
  assert.deepEqual(effects(w.log), ["remove one-offs"]);
});

// A crash (the process killed) right after each state was recorded: what the record says, and what the next run does.
const crashes: Array<{ state: RunState; next: ReturnType<typeof resumeOrUndo>["action"] }> = [
  { state: "planned", next: "nothing" },
  { state: "prepared", next: "nothing" },
  { state: "snapshotted", next: "finish" },
  { state: "frozen", next: "recover swaps" },
  { state: "swapped", next: "finish" },
  { state: "started", next: "nothing" },
];

for (const c of crashes) {
  test(`a crash after ${c.state} was recorded: the next run does "${c.next}"`, async () => {
    const records = new MemoryRecords();
    await restore(["postgres", "redis"], { inPlace: true, crashAfter: c.state, records });
    const left = records.read()!;
    assert.equal(left.state, c.state, "the record keeps the state the run had reached");
    const next = resumeOrUndo(left);
    assert.equal(next.action, c.next);
    // From frozen on, the record names the snapshot committed (and what finishing or undoing is offered with).
    if (["frozen", "swapped", "started"].includes(c.state)) assert.equal(left.snapshot, SNAPSHOT);
    if (next.action !== "nothing") assert.equal(next.snapshot, left.snapshot);
    // The next run (a restore again, as any script) puts back a half swap before anything else.
    const before = records.written.length;
    const again = await restore(["postgres", "redis"], { inPlace: true, records });
    const recovers = c.next === "recover swaps";
    const recovered = recovers ? ["recover postgres", "recover redis", "recover milvus", "recover uploads"] : [];
    assert.deepEqual(effects(again.log).slice(0, 2 + recovered.length), ["remove one-offs", ...recovered, "check postgres"]);
    assert.deepEqual(
      records.written.slice(before, recovers ? before + 2 : before + 1).map((w) => w.state),
      recovers ? ["recovered", "planned"] : ["planned"],
    );
    if (recovers) assert.equal(records.written[before]?.reached, "frozen");
    assert.equal(again.rec.state, "started");
  });
}

test("a run that crashed mid-swap is recovered by the next run, which says what it put back; a component that cannot look yet keeps the mark", async () => {
  const records = new MemoryRecords();
  await restore(["redis"], { inPlace: true, crashAfter: "frozen", records });
  const before = records.written.length;
  // Postgres stopped: its recovery waits, so the new run's record carries the mark.
  const waiting = await restore(["redis"], {
    inPlace: true,
    records,
    later: ["postgres"],
    recovered: { redis: ["redis: moved back .claw-kept-x.partial"] },
  });
  assert.ok(waiting.log.includes("warn: a restore that died left this half-swapped; put back together: redis: moved back .claw-kept-x.partial"));
  assert.equal(records.written.slice(before).find((w) => w.state === "planned")?.swapping, true, "carried into the next run's record");
  assert.equal(waiting.rec.state, "started");
  assert.equal(waiting.rec.swapping, false, "until its own swaps ended");
});

test("an undo: the snapshot the record names is the one `rollback --undo` uses, whether the restore ended or failed mid-swap", async () => {
  for (const fail of [[], ["swap redis"]]) {
    const r = await restore(["postgres", "redis", "uploads"], { inPlace: true, fail });
    assert.equal(r.rec.snapshot, SNAPSHOT);
    assert.equal(readUndo(r.root).snapshot, r.rec.snapshot);
    assert.equal(readUndo(r.root).event, "restore");
    const next = resumeOrUndo(r.rec);
    if (next.action !== "nothing") assert.equal(next.snapshot, readUndo(r.root).snapshot);
  }
});

test("finishing a run that died keeps the undo record on its snapshot and starts every dependent", async () => {
  const w = world(["postgres"], {});
  w.ports.services.ps = async () => [];
  await applyRestore(w.project, w.out, w.plan, { recordUndo: false }, w.ports);
  assert.ok(!w.log.some((l) => l.startsWith("undo record")));
  assert.ok(w.log.includes(STOP) && w.log.includes(START), "not running, and stopped and started all the same");
});

test("a record that cannot be written once the components froze swaps nothing: every frozen component starts again", async () => {
  const w = world(["postgres", "redis"], { inPlace: true });
  const write = w.records.write.bind(w.records);
  w.records.write = (rec) => {
    if (rec.state === "frozen") throw new Error("ENOSPC: no space left on device");
    write(rec);
  };
  const outcome = await applyRestore(w.project, w.out, w.plan, {}, w.ports).then(
    (o) => o.error,
    (e: Error) => e,
  );
  assert.match(String(outcome), /ENOSPC/);
  const log = effects(w.log);
  assert.ok(!log.some((l) => l.startsWith("swap ")), "nothing swapped");
  assert.ok(log.includes("thaw postgres") && log.includes("thaw redis"), `every frozen component thawed: ${log.join(" | ")}`);
});
