/**
 * In-memory fakes of a restore run's ports (lib/restore/restore-ports.ts): components,
 * services, the snapshot store and the record store. Every effect is logged in order, any
 * named effect can be made to fail, and the record store can "die" right after it wrote a
 * state (later writes are lost, as when the process is killed there). No Docker, no compose.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Component, Frozen, PreparedRestore } from "../../../lib/backup/components/component.ts";
import { keptResult } from "../../../lib/backup/components/component.ts";
import { COMPONENTS, type ComponentName, type ComponentRecord, KEPT_COMPONENTS, type Manifest } from "../../../lib/backup/manifest.ts";
import type { RestoreRunRecord, RunRecordStore, RunState } from "../../../lib/backup/restore-record.ts";
import type { PendingBackup } from "../../../lib/backup/run.ts";
import type { Output } from "../../../lib/core/output.ts";
import type { Project } from "../../../lib/project/project.ts";
import type { RestorePlan } from "../../../lib/restore/plan.ts";
import type { Registry, RestorePorts, Unfinished } from "../../../lib/restore/restore-ports.ts";
import { writeUndo } from "../../../lib/restore/undo.ts";
import { componentRecord, samplePlan, tmp } from "../helpers.ts";

/** The dependents the plan stops, all running. */
export const DEPENDENTS = ["backend", "celery-worker"];
/** The id the fake snapshot store gives the pre-restore snapshot. */
export const SNAPSHOT_ID = "20260301-120000";

export interface WorldOptions {
  /** Effects that throw, by their log line ("prepare postgres", "snapshot write", "freeze redis", "swap redis", "restore config", "start backend, celery-worker", …). */
  fail?: readonly string[];
  /** The record store dies right after writing this state. */
  crashAfter?: RunState;
  /** SNAPSHOT_IN_PLACE: the in-place components keep their snapshot beside the live data. */
  inPlace?: boolean;
  /** What recover() of each component reports. */
  recovered?: Partial<Record<ComponentName, string[]>>;
  /** The record left by a run before (shared store of the "same host"). */
  records?: MemoryRecords;
  unfinished?: Unfinished;
  /** Components whose recover() cannot look yet (Postgres stopped). */
  later?: readonly ComponentName[];
  /** Which components' in-place snapshots were never moved (unmoved() true). */
  unmoved?: readonly ComponentName[];
}

/** The record store in memory: every record written, and a death after a state. */
export class MemoryRecords implements RunRecordStore {
  readonly written: RestoreRunRecord[] = [];
  dead = false;
  crashAfter: RunState | undefined;
  read(): RestoreRunRecord | undefined {
    return this.written.at(-1);
  }
  write(rec: RestoreRunRecord): void {
    if (this.dead) return;
    this.written.push(structuredClone(rec));
    if (rec.state === this.crashAfter) this.dead = true;
  }
  /** The states in the order they were recorded (changes within a state not repeated). */
  states(): RunState[] {
    return this.written.map((r) => r.state).filter((s, i, all) => s !== all[i - 1]);
  }
}

export interface World {
  root: string;
  project: Project;
  out: Output;
  plan: RestorePlan;
  ports: RestorePorts;
  records: MemoryRecords;
  /** Every effect, in order. */
  log: string[];
}

export function world(components: readonly ComponentName[], o: WorldOptions = {}): World {
  const root = tmp("restore-run");
  mkdirSync(join(root, "backups"), { mode: 0o700 });
  const log: string[] = [];
  const effect = (line: string) => {
    log.push(line);
    if (o.fail?.includes(line)) throw new Error(`${line} failed`);
  };
  const records = o.records ?? new MemoryRecords();
  records.dead = false;
  records.crashAfter = o.crashAfter;
  const project = {
    root,
    config: { snapshotInPlace: () => o.inPlace === true, encryption: { key: undefined } },
    stack: { services: DEPENDENTS.map((name) => ({ name, role: name, volumes: [] })), volumes: [], networks: [] },
  } as unknown as Project;
  const out = {
    info: (m: string) => log.push(`info: ${m}`),
    warn: (m: string) => log.push(`warn: ${m}`),
    step: (_name: unknown, fn: () => Promise<unknown>) => fn(),
    phases: [],
  } as unknown as Output;
  const plan = backupPlan(root, components);
  const ports: RestorePorts = {
    registry: registry(effect, o),
    services: {
      removeOneOffs: async () => did(effect, "remove one-offs", 0),
      startLeftStopped: async () => did(effect, "start left stopped", []),
      ps: async () => DEPENDENTS.map((service) => ({ service, state: "running" }) as never),
      resolvedConfig: async () => (log.some((l) => l === "restore config") ? "definitions after" : "definitions before"),
      stop: async (s) => effect(`stop ${s.join(", ")}`),
      startReady: async (s) => effect(`start ${s.join(", ")}`),
      reconcileServing: async () => undefined,
    },
    snapshots: {
      open: async (p) => ({ dir: p.dir, manifest: p.manifest, close: () => undefined }),
      begin: async (cs, tier) => pending(root, cs, tier, effect),
      markMoved: (dir, cs) => effect(`mark moved ${cs.join(", ")} in ${dir.slice(root.length + 1)}`),
      unfinished: () => o.unfinished,
      writeUndo: (dir, event, backup, at) => {
        effect(`undo record ${dir.slice(root.length + 1)}`);
        writeUndo(root, dir, event, backup, at);
      },
    },
    records,
  };
  return { root, project, out, plan, ports, records, log };
}

/** An effect that then gives a value. */
function did<T>(effect: (l: string) => void, line: string, value: T): T {
  effect(line);
  return value;
}

/** A daily backup holding every component, to restore `components` of. */
function backupPlan(root: string, components: readonly ComponentName[]): RestorePlan {
  const base = samplePlan();
  const manifest: Manifest = {
    ...base.manifest,
    components: Object.fromEntries(COMPONENTS.map((c) => [c, componentRecord(c, {})])),
  };
  const touchesData = components.some((c) => c !== "config");
  return samplePlan({
    dir: join(root, "backups/daily", manifest.id),
    manifest,
    components: [...components],
    stop: touchesData ? DEPENDENTS : [],
    snapshotTier: "pre-restore",
  });
}

function pending(root: string, cs: readonly ComponentName[], tier: string, effect: (l: string) => void): PendingBackup {
  let committed = false;
  return {
    id: SNAPSHOT_ID,
    write: async () => effect(`snapshot write ${cs.join(", ") || "nothing"}`),
    hasRecords: () => cs.length > 0,
    commit: (extra: readonly ComponentRecord[]) => {
      effect(`snapshot commit ${[...cs, ...extra.map((r) => r.name)].join(", ")}`);
      committed = true;
      const dir = join(root, "backups", tier, SNAPSHOT_ID);
      const manifest = { ...samplePlan().manifest, id: SNAPSHOT_ID };
      return { id: SNAPSHOT_ID, dir, tier: tier as never, manifest, promoted: [], pruned: [], durationMs: 0 };
    },
    discard: () => {
      if (!committed) effect("snapshot discard");
    },
  };
}

function registry(effect: (l: string) => void, o: WorldOptions): Registry {
  const one = (name: ComponentName): Component => {
    const prepared = (tag: string): PreparedRestore => ({ ref: `${name}-staged`, tag, discard: async () => effect(`discard ${name}`) });
    const kept = KEPT_COMPONENTS.includes(name);
    return {
      name,
      backup: async () => keptResult("", {}, {}, ""),
      verify: async () => undefined,
      drill: async () => "",
      check: async () => effect(`check ${name}`),
      restore: async () => effect(`restore ${name}`),
      // As the real ones: the components that can keep in place stage, freeze, recover and keep; config only restores.
      ...(kept
        ? {
            prepare: async (_ctx, _rec, tag) => did(effect, `prepare ${name}`, prepared(tag)),
            recover: async () =>
              did(effect, `recover ${name}`, { lines: o.recovered?.[name] ?? [], ...(o.later?.includes(name) ? { later: true } : {}) }),
            freeze: async (_ctx, _rec, ready) => did(effect, `freeze ${name}`, frozen(name, ready, effect)),
            unmoved: async () => o.unmoved?.includes(name) === true,
          }
        : {}),
    };
  };
  return Object.fromEntries(COMPONENTS.map((c) => [c, one(c)])) as Registry;
}

/** A frozen component: its swap moves the live data aside first, then may fail. */
function frozen(name: ComponentName, ready: PreparedRestore, effect: (l: string) => void): Frozen {
  let moved = false;
  return {
    record: keptResult(ready.tag, {}, {}, `${name} kept in place`),
    get moved() {
      return moved;
    },
    swap: async () => {
      moved = true;
      effect(`swap ${name}`);
    },
    thaw: async () => effect(`thaw ${name}`),
  };
}
