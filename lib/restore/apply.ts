/**
 * Applying a restore plan, as named phases: remove one-offs a killed run left → decrypt and
 * check every artifact → each component's own check (crafted archives, unsafe live paths) →
 * snapshot what will be overwritten, while the parts of the restore that touch no live data
 * are prepared beside it (Postgres: the dump restored into a database of its own) → with the
 * dependents stopped, the data components restored at the same time, then the configuration
 * → dependents started again whatever happened (errors joined). The backend's downtime is
 * measured from its stop to its healthcheck passing again.
 */
import { join } from "node:path";
import type { ComponentContext, Frozen, PreparedRestore } from "../backup/components/component.ts";
import { type OpenedBackup, openBackupShown } from "../backup/encryption.ts";
import { COMPONENTS, type ComponentName, type ComponentRecord, KEPT_COMPONENTS, type Manifest, readManifest } from "../backup/manifest.ts";
import { markSwapping, recoverDeadSwaps, swapsEnded } from "../backup/recover.ts";
import { REGISTRY, rolesNeeded } from "../backup/registry.ts";
import { beginBackup, componentRecord, markMoved } from "../backup/run.ts";
import type { ContainerState } from "../commands/compose.ts";
import { settleAll } from "../core/async.ts";
import { whileStopped } from "../core/cleanup.ts";
import { ClawError, ExitCode } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import type { Project } from "../project/project.ts";
import { startLeftStopped } from "../project/release.ts";
import { reconcileServing } from "../project/serving.ts";
import { findByRole } from "../project/stack.ts";
import type { RestorePlan } from "./plan.ts";
import { readUndo, writeUndo } from "./undo.ts";

export type ComponentResult = "restored" | "skipped" | "failed" | "not reached";

export interface RestoreOutcome {
  snapshot: string | undefined;
  results: Record<ComponentName, ComponentResult>;
  /** The backend's downtime: from stopping it to its healthcheck passing again (undefined: it was not stopped). */
  backendDowntimeMs?: number;
  /** The restored configuration resolves to other service definitions than before: services are recreated from it. */
  definitionsChanged?: boolean;
  error?: Error;
}

export interface ApplyOptions {
  /**
   * false when finishing a rollback/restore that died: the undo record keeps pointing at the
   * dead run's own snapshot (the state before it), not at the half-restored state this run saves.
   */
  recordUndo?: boolean;
}

/** The components whose pre-restore snapshot is kept in place (renamed, not copied) on this set-up. */
export function keptInPlace(here: ComponentContext, components: readonly ComponentName[]): ComponentName[] {
  if (!here.project.config.snapshotInPlace()) return [];
  return components.filter((c) => KEPT_COMPONENTS.includes(c) && REGISTRY[c].freeze && (REGISTRY[c].canKeep?.(here) ?? true));
}

export async function applyRestore(project: Project, out: Output, plan: RestorePlan, o: ApplyOptions = {}): Promise<RestoreOutcome> {
  const results = Object.fromEntries(
    COMPONENTS.map((c) => [c, plan.components.includes(c) ? "not reached" : "skipped"]),
  ) as RestoreOutcome["results"];
  if (plan.components.length === 0) return { snapshot: undefined, results };
  // Decrypted (and each plaintext checked) before the snapshot: nothing is touched until
  // every artifact is known good. Meanwhile one-offs a killed run left are removed (they may
  // hold a volume this restore replaces), then what a restore that died left half-swapped is
  // put back together, before anything decides from the kept data or starts a service on it.
  const [removed, opening] = await Promise.allSettled([
    project.compose.removeOneOffs(project.effectiveName).then(async (n) => {
      await recoverDeadSwaps(project, out);
      return n;
    }),
    openBackupShown(out, project.root, plan.dir, plan.manifest, plan.components, plan.key),
  ]);
  if (opening.status === "rejected") throw opening.reason;
  const opened = opening.value;
  if (removed.status === "rejected") {
    opened.close();
    throw removed.reason;
  }
  const stale = removed.value;
  if (stale) out.warn(msg.restore.apply.removedOneOffs({ count: stale }));
  try {
    plan = await withoutUnmoved(project, out, plan, opened, results);
    if (plan.components.length === 0) return { snapshot: undefined, results };
    await checkComponents(project, out, plan, opened);
    const started = (await startLeftStopped(project, rolesNeeded(plan.components), (m) => out.warn(m))).length > 0;
    // Postgres, Redis, Milvus and the uploads keep what they replace in place (renamed, not copied) as the
    // snapshot; the rest is copied, as a backup, while every component's restore is prepared
    // beside the live data (staged, services running).
    const here: ComponentContext = { project, dir: opened.dir, out };
    const inPlace = keptInPlace(here, plan.components);
    // A restore that died after its snapshot, before replacing some component: the live data
    // is that snapshot's state for it, so this run keeps it there (under that snapshot's tag).
    const adopt = unfinishedSnapshot(project.root, plan.dir);
    const adopted = await adoptable(project, out, inPlace, adopt);
    const pending = await beginBackup(project, out, {
      components: plan.components.filter((c) => !inPlace.includes(c)),
      tier: plan.snapshotTier,
      prune: false,
    });
    const tagOf = (c: ComponentName) => (adopted.has(c) ? adopt!.manifest.id : pending.id);
    const prepared = new Map<ComponentName, PreparedRestore>();
    // What runs now and what the services are defined as, read while the restore is prepared.
    const looked = Promise.all([
      project.compose.ps(),
      plan.components.includes("config") ? project.compose.resolvedConfig() : Promise.resolve(undefined),
    ]);
    looked.catch(() => undefined);
    const [snap, prep] = await Promise.allSettled([
      out.step(
        localized((t) =>
          inPlace.length
            ? t.restore.apply.snapshotStepInPlace({ tier: plan.snapshotTier, kept: inPlace.join(", ") })
            : t.restore.apply.snapshotStep({ tier: plan.snapshotTier }),
        ),
        () => pending.write(),
      ),
      prepareComponents(project, out, plan, opened, results, prepared, tagOf),
    ]);
    const discard = async () => {
      for (const [c, p] of prepared) if (results[c] !== "restored") await p.discard();
    };
    if (snap.status === "rejected" || prep.status === "rejected") {
      pending.discard();
      await discard();
      const reason = snap.status === "rejected" ? snap.reason : (prep as PromiseRejectedResult).reason;
      const e = reason instanceof Error ? reason : new Error(String(reason));
      // Once it has started services (left stopped by a run that died), a refusal is no longer "nothing touched".
      if (snap.status === "rejected") throw started ? touched(e) : e;
      return { snapshot: undefined, results, error: started ? touched(e) : e };
    }
    let snapshot: string | undefined;
    // Recorded before anything is overwritten: `rollback.mts --undo` finds it even if this run dies.
    const commit = (all: readonly ComponentRecord[]) => {
      // An adopted component's record is the dead run's own (made when it froze it).
      const extra = all.filter((r) => !adopted.has(r.name));
      if (!extra.length && !pending.hasRecords()) {
        pending.discard();
        snapshot = adopt!.dir;
        return;
      }
      const b = pending.commit(extra);
      // Finishing an unfinished restore: its snapshot stays the undo point (it holds the state before both).
      if (o.recordUndo !== false && adopted.size === 0)
        writeUndo(project.root, b.dir, plan.snapshotTier === "pre-rollback" ? "rollback" : "restore", plan.manifest.id, new Date());
      out.info(msg.restore.apply.undoWith({ command: undoCommand(project, join("backups", plan.snapshotTier, b.id), b.manifest) }));
      snapshot = b.dir;
    };
    const moved = (cs: readonly ComponentName[]) => {
      const own = cs.filter((c) => !adopted.has(c));
      const theirs = cs.filter((c) => adopted.has(c));
      if (theirs.length) markMoved(adopt!.dir, theirs);
      if (snapshot && own.length && snapshot !== adopt?.dir) markMoved(snapshot, own);
    };
    if (!inPlace.length) commit([]);
    // Finishing a run that died: it may have left the dependents stopped, so all of them start again.
    const timing: Timing = {};
    const error = await looked
      .then(([states, definitions]) =>
        restoreComponents(project, out, plan, opened, results, o.recordUndo === false, timing, prepared, {
          inPlace,
          commit,
          moved,
          states,
          definitions,
        }),
      )
      .then(() => undefined, touched);
    if (snapshot === undefined) pending.discard();
    await discard();
    // A deploy that died may have left nginx naming a backend container this restore replaced.
    const reconciled = await reconcileServing(project).catch((e: Error) => msg.restore.apply.nginxUnchecked({ message: e.message }));
    if (reconciled) out.warn(reconciled);
    return { snapshot, results, ...timing, ...(error ? { error } : {}) };
  } finally {
    opened.close();
  }
}

/**
 * The snapshot of a restore that died between committing it and its swaps: the undo
 * record's (no restore has finished since), kept in place, not one record marked moved (a
 * run that ends marks what it moved). This run then finishes that restore: what it replaces
 * of a component never moved is that snapshot's state, and the undo record stays on it.
 */
function unfinishedSnapshot(root: string, restoring: string): { dir: string; manifest: Manifest } | undefined {
  let dir: string;
  let manifest: Manifest;
  try {
    dir = join(root, readUndo(root).snapshot);
    // No undo record, or one whose snapshot is gone or unreadable: nothing to finish.
    manifest = readManifest(dir);
  } catch {
    return undefined;
  }
  if (dir === restoring) return undefined;
  const kept = Object.values(manifest.components).filter((c) => c?.kept);
  return kept.length && kept.every((c) => !c!.kept!.moved) ? { dir, manifest } : undefined;
}

/** The components this run keeps in an unfinished snapshot: in place there, and never moved aside. */
async function adoptable(
  project: Project,
  out: Output,
  inPlace: readonly ComponentName[],
  adopt: { dir: string; manifest: Manifest } | undefined,
): Promise<Set<ComponentName>> {
  const got = new Set<ComponentName>();
  if (!adopt) return got;
  const ctx: ComponentContext = { project, dir: adopt.dir, out };
  for (const c of inPlace) {
    const rec = adopt.manifest.components[c];
    if (rec?.kept && (await REGISTRY[c].unmoved?.(ctx, rec).catch(() => false))) got.add(c);
  }
  if (got.size) out.info(msg.restore.apply.adopted({ components: [...got].join(", "), id: adopt.manifest.id }));
  return got;
}

/**
 * An in-place snapshot whose restore died before replacing a component holds that
 * component's state in the live data itself: nothing to restore for it ("skipped", said).
 */
async function withoutUnmoved(
  project: Project,
  out: Output,
  plan: RestorePlan,
  opened: OpenedBackup,
  results: RestoreOutcome["results"],
): Promise<RestorePlan> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  const unmoved = new Set<ComponentName>();
  await settleAll(
    plan.components.map(async (c) => {
      const rec = opened.manifest.components[c]!;
      if (rec.kept && (await REGISTRY[c].unmoved?.(ctx, rec))) unmoved.add(c);
    }),
  );
  for (const c of unmoved) {
    results[c] = "skipped";
    out.info(msg.restore.apply.unmoved({ component: c, why: msg.components.common.unmoved }));
  }
  return unmoved.size ? { ...plan, components: plan.components.filter((c) => !unmoved.has(c)) } : plan;
}

/** An encrypted snapshot needs the key to be undone: say so when .env.prod does not hold it. */
export function undoKeyHint(project: Project, m: Manifest): string {
  return m.encryption && !project.config.encryption.key ? ` --identity ${msg.restore.apply.ageKeyFile}` : "";
}

/** The command that undoes a restore: roll back to the snapshot it took. */
export function undoCommand(project: Project, snapshotDir: string, m: Manifest): string {
  // The key hint is a placeholder for the operator to fill in, not an argument to quote.
  return `${operatorCommand(SCRIPTS.rollback, ["--backup", snapshotDir, "-y"])}${undoKeyHint(project, m)}`;
}

/** Each component's own pre-restore check of its (decrypted) artifacts and of the live side: nothing touched yet. */
async function checkComponents(project: Project, out: Output, plan: RestorePlan, opened: OpenedBackup): Promise<void> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  for (const c of plan.components) await REGISTRY[c].check?.(ctx, opened.manifest.components[c]!);
}

/** Each component's prepare (what touches no live data), at the same time; a failure is that component's. */
async function prepareComponents(
  project: Project,
  out: Output,
  plan: RestorePlan,
  opened: OpenedBackup,
  results: RestoreOutcome["results"],
  prepared: Map<ComponentName, PreparedRestore>,
  tagOf: (c: ComponentName) => string,
): Promise<void> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  await settleAll(
    plan.components.flatMap((c) => {
      const prepare = REGISTRY[c].prepare;
      if (!prepare) return [];
      return [
        out
          .step(
            localized((t) => t.restore.apply.prepareStep({ component: c })),
            () => prepare(ctx, opened.manifest.components[c]!, tagOf(c)),
          )
          .then(
            (p) => void prepared.set(c, p),
            (e: unknown) => {
              results[c] = "failed";
              throw e;
            },
          ),
      ];
    }),
  );
}

/**
 * Past the snapshot the live stack has been touched (services stopped, data replaced): no
 * error from here on may claim exit 3, "nothing was touched".
 */
export function touched(e: unknown): Error {
  if (e instanceof ClawError && e.exitCode === ExitCode.precondition) return new ClawError(e.message, { hint: e.hint, cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

interface Timing {
  backendDowntimeMs?: number;
  definitionsChanged?: boolean;
}

/**
 * The data components at the same time (each stops and starts only its own services, and
 * they share none), then the configuration; the dependents stopped around all of it and
 * started again whatever happened. A component that fails does not stop the others: each
 * one's result is its own.
 */
async function restoreComponents(
  project: Project,
  out: Output,
  plan: RestorePlan,
  opened: OpenedBackup,
  results: RestoreOutcome["results"],
  allDependents: boolean,
  timing: Timing,
  prepared: ReadonlyMap<ComponentName, PreparedRestore>,
  kept: {
    inPlace: readonly ComponentName[];
    commit: (extra: readonly ComponentRecord[]) => void;
    /** Marks in the snapshot's manifest the components whose data was moved aside. */
    moved: (components: readonly ComponentName[]) => void;
    /** compose ps and the resolved definitions (when config is restored), read before anything was stopped. */
    states: readonly ContainerState[];
    definitions: string | undefined;
  },
): Promise<void> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  const frozen = new Map<ComponentName, Frozen>();
  const restoreOne = async (c: ComponentName) => {
    results[c] = "failed";
    const f = frozen.get(c);
    await out.step(
      localized((t) => t.restore.apply.restoreStep({ component: c })),
      () => (f ? f.swap() : REGISTRY[c].restore(ctx, opened.manifest.components[c]!, prepared.get(c))),
    );
    results[c] = "restored";
  };
  /**
   * The in-place snapshot: each kept component stops its own services and records what is
   * live; the snapshot's manifest is committed with those records before any swap. If one
   * cannot, the others start again untouched and nothing is replaced.
   */
  const freeze = async () => {
    const t0 = new Date();
    const got = await Promise.allSettled(
      kept.inPlace.map((c) =>
        out
          .step(
            localized((t) => t.restore.apply.freezeStep({ component: c })),
            () => REGISTRY[c].freeze!(ctx, opened.manifest.components[c]!, prepared.get(c)!),
          )
          .then((f) => void frozen.set(c, f)),
      ),
    );
    const failed = got.find((g): g is PromiseRejectedResult => g.status === "rejected");
    try {
      if (failed) throw failed.reason;
      kept.commit(kept.inPlace.map((c) => componentRecord(c, frozen.get(c)!.record, t0, new Date())));
    } catch (e) {
      await settleAll([...frozen.values()].map((f) => f.thaw()));
      frozen.clear();
      throw e;
    }
  };
  // A restored configuration may change the services' definitions: then they are recreated from it.
  const definitionsBefore = kept.definitions;
  let stoppedAt: number | undefined;
  const shown = {
    stop: async (s: readonly string[]) => {
      stoppedAt = Date.now();
      await project.compose.stop(s);
    },
    startReady: async (s: readonly string[]) => {
      const recreate = timing.definitionsChanged === true;
      await out.step(
        localized((t) => t.restore.apply.startStep({ services: s.join(", ") })),
        () => project.compose.startReady(s, { recreate }),
      );
      if (stoppedAt !== undefined && backend && s.includes(backend)) timing.backendDowntimeMs = Date.now() - stoppedAt;
    },
  };
  // Only what runs is stopped, so only that is started again: a restore never starts a service
  // that was not running before it (a database-only stack stays database-only).
  const states = kept.states;
  const running = allDependents ? plan.stop : plan.stop.filter((s) => states.some((c) => c.service === s && c.state === "running"));
  const backend = findByRole(project.stack, "backend")?.name;
  const data = plan.components.filter((c) => c !== "config");
  return whileStopped(shown, running, async () => {
    // From the first swap to the last, a run that dies leaves a mark: the next one recovers.
    markSwapping(project.root);
    try {
      if (kept.inPlace.length) await freeze();
      await settleAll(data.map(restoreOne));
    } finally {
      kept.moved([...frozen].filter(([, f]) => f.moved).map(([c]) => c));
    }
    // Only after every swap ended well: a swap that failed (a full disk after the data moved
    // aside) leaves the mark, so the next run of any script puts back what it left.
    swapsEnded(project.root);
    if (plan.components.includes("config")) {
      await restoreOne("config");
      const after = await project.compose.resolvedConfig();
      timing.definitionsChanged = definitionsBefore === undefined || after === undefined || after !== definitionsBefore;
    }
  });
}
