/**
 * The part of a restore run with the dependents stopped: the in-place components frozen and
 * the snapshot committed (frozen), the data components swapped in at the same time (each
 * stops and starts only its own services, and they share none: swapped), then the
 * configuration; the dependents started again whatever happened. A component that fails
 * does not stop the others: each one's result is its own. The backend's downtime is
 * measured from its stop to its healthcheck passing again.
 */
import type { ComponentContext, Frozen, PreparedRestore } from "../backup/components/component.ts";
import type { OpenedBackup } from "../backup/encryption.ts";
import type { ComponentName, ComponentRecord } from "../backup/manifest.ts";
import type { RestoreRunRecord, RunState } from "../backup/restore-record.ts";
import { componentRecord } from "../backup/run.ts";
import type { ContainerState } from "../commands/compose.ts";
import { settleAll } from "../core/async.ts";
import { type ServiceControl, whileStopped } from "../core/cleanup.ts";
import { localized } from "../core/i18n/index.ts";
import { findByRole } from "../project/stack.ts";
import type { RestorePlan } from "./plan.ts";
import type { RestoreOutcome, Timing } from "./restore-outcome.ts";
import type { RestorePorts } from "./restore-ports.ts";

/** What this phase needs of the run (RestoreRun). */
export interface StoppedRun {
  readonly ctx: ComponentContext;
  readonly plan: RestorePlan;
  readonly opened: OpenedBackup;
  readonly results: RestoreOutcome["results"];
  readonly ports: RestorePorts;
  readonly inPlace: readonly ComponentName[];
  readonly prepared: ReadonlyMap<ComponentName, PreparedRestore>;
  readonly timing: Timing;
  /** Every dependent is stopped and started, running or not (finishing a run that died). */
  readonly allDependents: boolean;
  /** Commits the snapshot with the in-place records (and the undo record). */
  commit(records: readonly ComponentRecord[]): void;
  /** Marks the components whose data was moved aside. */
  moved(components: readonly ComponentName[]): void;
  to(state: RunState, patch?: Partial<RestoreRunRecord>): void;
}

/**
 * `states` and `definitionsBefore`: compose ps and the resolved definitions (when config is
 * restored), read before anything was stopped.
 */
export async function restoreWhileStopped(run: StoppedRun, states: readonly ContainerState[], definitionsBefore: string | undefined): Promise<void> {
  const { plan, timing } = run;
  const frozen = new Map<ComponentName, Frozen>();
  // Only what runs is stopped, so only that is started again: a restore never starts a service
  // that was not running before it (a database-only stack stays database-only).
  const running = run.allDependents ? plan.stop : plan.stop.filter((s) => states.some((c) => c.service === s && c.state === "running"));
  const data = plan.components.filter((c) => c !== "config");
  return whileStopped(timedControl(run), running, async () => {
    if (run.inPlace.length) await freeze(run, frozen);
    // From the first swap to the last, a run that dies leaves the record swapping: the next run of
    // any script recovers. A record that cannot be written (a full disk) swaps nothing: what froze starts again.
    try {
      run.to("frozen", { swapping: true });
    } catch (e) {
      await settleAll([...frozen.values()].map((f) => f.thaw()));
      throw e;
    }
    try {
      await settleAll(data.map((c) => restoreOne(run, frozen, c)));
    } finally {
      run.moved([...frozen].filter(([, f]) => f.moved).map(([c]) => c));
    }
    // Only after every swap ended well: a swap that failed (a full disk after the data moved
    // aside) leaves the record swapping, so the next run of any script puts back what it left.
    run.to("swapped", { swapping: false });
    if (plan.components.includes("config")) {
      await restoreOne(run, frozen, "config");
      // A restored configuration may change the services' definitions: then they are recreated from it.
      const after = await run.ports.services.resolvedConfig();
      timing.definitionsChanged = definitionsBefore === undefined || after === undefined || after !== definitionsBefore;
    }
  });
}

/** The services' stop and start, shown as steps, timing the backend's downtime. */
function timedControl(run: StoppedRun): ServiceControl {
  const { ctx, timing } = run;
  const services = run.ports.services;
  const backend = findByRole(ctx.project.stack, "backend")?.name;
  let stoppedAt: number | undefined;
  return {
    stop: async (s) => {
      stoppedAt = Date.now();
      await services.stop(s);
    },
    startReady: async (s) => {
      const recreate = timing.definitionsChanged === true;
      await ctx.out.step(
        localized((t) => t.restore.apply.startStep({ services: s.join(", ") })),
        () => services.startReady(s, { recreate }),
      );
      if (stoppedAt !== undefined && backend && s.includes(backend)) timing.backendDowntimeMs = Date.now() - stoppedAt;
    },
  };
}

async function restoreOne(run: StoppedRun, frozen: ReadonlyMap<ComponentName, Frozen>, c: ComponentName): Promise<void> {
  const { ctx, opened, results } = run;
  results[c] = "failed";
  const f = frozen.get(c);
  await ctx.out.step(
    localized((t) => t.restore.apply.restoreStep({ component: c })),
    () => (f ? f.swap() : run.ports.registry[c].restore(ctx, opened.manifest.components[c]!, run.prepared.get(c))),
  );
  results[c] = "restored";
}

/**
 * The in-place snapshot: each kept component stops its own services and records what is
 * live; the snapshot's manifest is committed with those records before any swap. If one
 * cannot, the others start again untouched and nothing is replaced.
 */
async function freeze(run: StoppedRun, frozen: Map<ComponentName, Frozen>): Promise<void> {
  const { ctx, opened } = run;
  const t0 = new Date();
  const got = await Promise.allSettled(
    run.inPlace.map((c) =>
      ctx.out
        .step(
          localized((t) => t.restore.apply.freezeStep({ component: c })),
          () => run.ports.registry[c].freeze!(ctx, opened.manifest.components[c]!, run.prepared.get(c)!),
        )
        .then((f) => void frozen.set(c, f)),
    ),
  );
  const failed = got.find((g): g is PromiseRejectedResult => g.status === "rejected");
  try {
    if (failed) throw failed.reason;
    run.commit(run.inPlace.map((c) => componentRecord(c, frozen.get(c)!.record, t0, new Date())));
  } catch (e) {
    await settleAll([...frozen.values()].map((f) => f.thaw()));
    frozen.clear();
    throw e;
  }
}
