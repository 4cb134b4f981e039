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
import type { ComponentContext, PreparedRestore } from "../backup/components/component.ts";
import { type OpenedBackup, openBackupShown } from "../backup/encryption.ts";
import { COMPONENTS, type ComponentName, type Manifest } from "../backup/manifest.ts";
import { REGISTRY, rolesNeeded } from "../backup/registry.ts";
import { runBackup } from "../backup/run.ts";
import { settleAll } from "../core/async.ts";
import { whileStopped } from "../core/cleanup.ts";
import { ClawError, ExitCode } from "../core/errors.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { startLeftStopped } from "../project/release.ts";
import { reconcileServing } from "../project/serving.ts";
import { findByRole } from "../project/stack.ts";
import type { RestorePlan } from "./plan.ts";
import { writeUndo } from "./undo.ts";

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

export async function applyRestore(project: Project, out: Output, plan: RestorePlan, o: ApplyOptions = {}): Promise<RestoreOutcome> {
  const results = Object.fromEntries(
    COMPONENTS.map((c) => [c, plan.components.includes(c) ? "not reached" : "skipped"]),
  ) as RestoreOutcome["results"];
  if (plan.components.length === 0) return { snapshot: undefined, results };
  const stale = await project.compose.removeOneOffs(project.effectiveName);
  if (stale) out.warn(`removed ${stale} one-off container(s) left by a run that was killed`);
  // Decrypted (and each plaintext checked) before the snapshot: nothing is touched until
  // every artifact is known good.
  const opened = await openBackupShown(out, project.root, plan.dir, plan.manifest, plan.components, plan.key);
  try {
    await checkComponents(project, out, plan, opened);
    const started = (await startLeftStopped(project, rolesNeeded(plan.components), (m) => out.warn(m))).length > 0;
    // The snapshot is taken while the parts of the restore that touch no live data are done
    // beside it (Postgres: the dump restored into a database of its own), services running.
    const prepared = new Map<ComponentName, PreparedRestore>();
    const [snap, prep] = await Promise.allSettled([
      takeSnapshot(project, out, plan, o.recordUndo !== false),
      prepareComponents(project, out, plan, opened, results, prepared),
    ]);
    const discard = async () => {
      for (const [c, p] of prepared) if (results[c] !== "restored") await p.discard();
    };
    if (snap.status === "rejected") {
      await discard();
      // Once it has started services, a refusal of the snapshot is no longer "nothing touched".
      throw started ? touched(snap.reason) : snap.reason;
    }
    const snapshot = snap.value;
    if (prep.status === "rejected") {
      await discard();
      const reason = prep.reason instanceof Error ? prep.reason : new Error(String(prep.reason));
      // Services it started (left stopped by a run that died) mean the stack was touched.
      return { snapshot, results, error: started ? touched(reason) : reason };
    }
    // Finishing a run that died: it may have left the dependents stopped, so all of them start again.
    const timing: Timing = {};
    const error = await restoreComponents(project, out, plan, opened, results, o.recordUndo === false, timing, prepared).then(
      () => undefined,
      touched,
    );
    await discard();
    // A deploy that died may have left nginx naming a backend container this restore replaced.
    const reconciled = await reconcileServing(project).catch((e: Error) => `could not check which backend nginx serves: ${e.message}`);
    if (reconciled) out.warn(reconciled);
    return { snapshot, results, ...timing, ...(error ? { error } : {}) };
  } finally {
    opened.close();
  }
}

/** An encrypted snapshot needs the key to be undone: say so when .env.prod does not hold it. */
export function undoKeyHint(project: Project, m: Manifest): string {
  return m.encryption && !project.config.encryption.key ? " --identity <your age key file>" : "";
}

/** The command that undoes a restore: roll back to the snapshot it took. */
export function undoCommand(project: Project, snapshotDir: string, m: Manifest): string {
  return `npx zx scripts/rollback.mts --backup ${snapshotDir} -y${undoKeyHint(project, m)}`;
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
): Promise<void> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  await settleAll(
    plan.components.flatMap((c) => {
      const prepare = REGISTRY[c].prepare;
      if (!prepare) return [];
      return [
        out
          .step(`prepare ${c} (beside the live data)`, () => prepare(ctx, opened.manifest.components[c]!))
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

async function takeSnapshot(project: Project, out: Output, plan: RestorePlan, recordUndo: boolean): Promise<string> {
  const snap = await out.step(`snapshot of the current state (${plan.snapshotTier})`, () =>
    runBackup(project, out, { components: plan.components, tier: plan.snapshotTier, prune: false }),
  );
  // Recorded before anything is overwritten: `rollback.mts --undo` finds it even if this run dies.
  if (recordUndo) writeUndo(project.root, snap.dir, plan.snapshotTier === "pre-rollback" ? "rollback" : "restore", plan.manifest.id, new Date());
  out.info(`undo with: ${undoCommand(project, join("backups", plan.snapshotTier, snap.id), snap.manifest)}`);
  return snap.dir;
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
): Promise<void> {
  const ctx: ComponentContext = { project, dir: opened.dir, out };
  const restoreOne = async (c: ComponentName) => {
    results[c] = "failed";
    await out.step(`restore ${c}`, () => REGISTRY[c].restore(ctx, opened.manifest.components[c]!, prepared.get(c)));
    results[c] = "restored";
  };
  // A restored configuration may change the services' definitions: then they are recreated from it.
  const definitionsBefore = plan.components.includes("config") ? await project.compose.resolvedConfig() : undefined;
  let stoppedAt: number | undefined;
  const shown = {
    stop: async (s: readonly string[]) => {
      stoppedAt = Date.now();
      await project.compose.stop(s);
    },
    startReady: async (s: readonly string[]) => {
      const recreate = timing.definitionsChanged === true;
      await out.step(`start ${s.join(", ")}`, () => project.compose.startReady(s, { recreate }));
      if (stoppedAt !== undefined && backend && s.includes(backend)) timing.backendDowntimeMs = Date.now() - stoppedAt;
    },
  };
  // Only what runs is stopped, so only that is started again: a restore never starts a service
  // that was not running before it (a database-only stack stays database-only).
  const states = await project.compose.ps();
  const running = allDependents ? plan.stop : plan.stop.filter((s) => states.some((c) => c.service === s && c.state === "running"));
  const backend = findByRole(project.stack, "backend")?.name;
  const data = plan.components.filter((c) => c !== "config");
  return whileStopped(shown, running, async () => {
    await settleAll(data.map(restoreOne));
    if (plan.components.includes("config")) {
      await restoreOne("config");
      const after = await project.compose.resolvedConfig();
      timing.definitionsChanged = definitionsBefore === undefined || after === undefined || after !== definitionsBefore;
    }
  });
}
