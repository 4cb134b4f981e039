/**
 * A restore as an explicit state machine. A RestoreRun moves
 *   planned → prepared → snapshotted → frozen → swapped → started
 * (failed when it ends with an error, recovered when the next run put back a half swap it
 * left), and records each state in backups/restore-run.json (lib/backup/restore-record.ts)
 * before the effect that follows it:
 *  - planned: the plan, what is kept in place; then services a dead run left stopped are
 *    started, and an unfinished snapshot's components adopted;
 *  - prepared: every component's restore staged beside the live data (the snapshot of the
 *    copied components may still be writing);
 *  - snapshotted: that snapshot written (and committed with the undo record when nothing is
 *    kept in place); nothing live replaced yet;
 *  - frozen: the dependents stopped, the in-place components frozen and the snapshot
 *    committed; `swapping` set: from here a run that dies leaves data half swapped;
 *  - swapped: every data swap ended (`swapping` cleared); the configuration follows;
 *  - started: the dependents started again.
 * It talks to the world only through its ports (restore-ports.ts).
 */
import { join, relative } from "node:path";
import type { ComponentContext, PreparedRestore } from "../backup/components/component.ts";
import type { OpenedBackup } from "../backup/encryption.ts";
import type { ComponentName, ComponentRecord } from "../backup/manifest.ts";
import { rolesNeeded } from "../backup/registry.ts";
import { plannedRecord, type RestoreRunRecord, type RunState, transition } from "../backup/restore-record.ts";
import type { PendingBackup } from "../backup/run.ts";
import type { ContainerState } from "../commands/compose.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { redact } from "../core/secret.ts";
import type { Project } from "../project/project.ts";
import type { RestorePlan } from "./plan.ts";
import { adoptable, checkComponents, keptInPlace, prepareComponents, withoutUnmoved } from "./restore-components.ts";
import { type ApplyOptions, type RestoreOutcome, type Timing, touched, undoCommand } from "./restore-outcome.ts";
import type { RestorePorts, Unfinished } from "./restore-ports.ts";
import { restoreWhileStopped, type StoppedRun } from "./restore-stopped.ts";

export class RestoreRun implements StoppedRun {
  readonly ctx: ComponentContext;
  inPlace: ComponentName[] = [];
  readonly prepared = new Map<ComponentName, PreparedRestore>();
  readonly timing: Timing = {};
  /** The snapshot committed (or adopted): what undoes this run. */
  snapshot: string | undefined;
  private rec: RestoreRunRecord | undefined;
  private adopt: Unfinished | undefined;
  private adopted = new Set<ComponentName>();
  private pending: PendingBackup | undefined;
  private looked: Promise<[readonly ContainerState[], string | undefined]> | undefined;
  /** Services a run that died left stopped were started: a refusal is no longer "nothing touched". */
  private startedLeft = false;

  constructor(
    readonly project: Project,
    readonly out: Output,
    public plan: RestorePlan,
    readonly opened: OpenedBackup,
    readonly results: RestoreOutcome["results"],
    readonly o: ApplyOptions,
    readonly ports: RestorePorts,
  ) {
    this.ctx = { project, dir: opened.dir, out };
  }

  get record(): RestoreRunRecord | undefined {
    return this.rec;
  }

  /** Finishing a run that died: it may have left the dependents stopped, so all of them start again. */
  get allDependents(): boolean {
    return this.o.recordUndo === false;
  }

  /** Records a state, with the snapshot once there is one, before the effect that follows it. */
  to(state: RunState, patch: Partial<RestoreRunRecord> = {}): void {
    const snapshot = this.snapshot ? { snapshot: relative(this.project.root, this.snapshot) } : {};
    this.rec = transition(this.rec!, state, new Date(), { ...snapshot, ...patch });
    this.ports.records.write(this.rec);
  }

  /** The whole run; a failure after the plan was recorded is recorded too. */
  async drive(): Promise<RestoreOutcome> {
    try {
      const outcome = await this.steps();
      if (outcome.error) this.fail(outcome.error);
      return outcome;
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  private fail(e: unknown): void {
    if (!this.rec || this.rec.state === "started" || this.rec.state === "failed") return;
    try {
      // Masked as the deploy ledger's are: a failed command's message may quote what it ran.
      this.to("failed", { error: redact(e instanceof Error ? e.message : String(e)) });
    } catch {
      // The run's own error is the one to report; the record keeps the state reached, as after a crash.
    }
  }

  private async steps(): Promise<RestoreOutcome> {
    const { registry } = this.ports;
    this.plan = await withoutUnmoved(this.ctx, registry, this.plan, this.opened, this.results);
    if (this.plan.components.length === 0) return this.outcome();
    await checkComponents(this.ctx, registry, this.plan, this.opened);
    // Postgres, Redis, Milvus and the uploads keep what they replace in place (renamed, not copied) as the
    // snapshot; the rest is copied, as a backup, while every component's restore is prepared
    // beside the live data (staged, services running).
    this.inPlace = keptInPlace(this.ctx, this.plan.components, registry);
    this.begin();
    const refused = await this.prepareAndSnapshot();
    if (refused) return refused;
    const error = await this.restoreStopped().then(() => undefined, touched);
    if (this.snapshot === undefined) this.pending!.discard();
    await this.discardPrepared();
    // A deploy that died may have left nginx naming a backend container this restore replaced.
    const reconciled = await this.ports.services.reconcileServing().catch((e: Error) => msg.restore.apply.nginxUnchecked({ message: e.message }));
    if (reconciled) this.out.warn(reconciled);
    return this.outcome(error);
  }

  private outcome(error?: Error): RestoreOutcome {
    return { snapshot: this.snapshot, results: this.results, ...this.timing, ...(error ? { error } : {}) };
  }

  /** planned: the record this run starts (a dead run's half swap not yet put back stays marked). */
  private begin(): void {
    const { plan } = this;
    this.rec = plannedRecord(
      {
        event: this.event(),
        backup: relative(this.project.root, plan.dir),
        backupId: plan.manifest.id,
        components: [...plan.components],
        snapshotTier: plan.snapshotTier,
        inPlace: [...this.inPlace],
      },
      this.ports.records.read(),
      new Date(),
    );
    this.ports.records.write(this.rec);
  }

  private event(): "restore" | "rollback" {
    return this.plan.snapshotTier === "pre-rollback" ? "rollback" : "restore";
  }

  /** planned → prepared → snapshotted: nothing live is replaced; a failure discards what was made. */
  private async prepareAndSnapshot(): Promise<RestoreOutcome | undefined> {
    const { plan, out, ports } = this;
    this.startedLeft = (await ports.services.startLeftStopped(rolesNeeded(plan.components), (m) => out.warn(m))).length > 0;
    // A restore that died after its snapshot, before replacing some component: the live data
    // is that snapshot's state for it, so this run keeps it there (under that snapshot's tag).
    this.adopt = ports.snapshots.unfinished(plan.dir);
    this.adopted = await adoptable(this.ctx, ports.registry, this.inPlace, this.adopt);
    const pending = await ports.snapshots.begin(
      plan.components.filter((c) => !this.inPlace.includes(c)),
      plan.snapshotTier,
    );
    this.pending = pending;
    // What runs now and what the services are defined as, read while the restore is prepared.
    this.looked = Promise.all([
      ports.services.ps(),
      plan.components.includes("config") ? ports.services.resolvedConfig() : Promise.resolve(undefined),
    ]);
    this.looked.catch(() => undefined);
    const adopted =
      this.adopt && this.adopted.size ? { adopted: { snapshot: relative(this.project.root, this.adopt.dir), components: [...this.adopted] } } : {};
    const [snap, prep] = await Promise.allSettled([
      out.step(this.snapshotStep(), () => pending.write()),
      prepareComponents(this.ctx, ports.registry, plan, this.opened, this.results, this.prepared, (c) => this.tagOf(c)).then(() =>
        this.to("prepared", adopted),
      ),
    ]);
    if (snap.status === "rejected" || prep.status === "rejected") return this.refuse(snap, prep);
    if (!this.inPlace.length) this.commit([]);
    this.to("snapshotted");
    return undefined;
  }

  private snapshotStep() {
    const { plan, inPlace } = this;
    return localized((t) =>
      inPlace.length
        ? t.restore.apply.snapshotStepInPlace({ tier: plan.snapshotTier, kept: inPlace.join(", ") })
        : t.restore.apply.snapshotStep({ tier: plan.snapshotTier }),
    );
  }

  private tagOf(c: ComponentName): string {
    return this.adopted.has(c) ? this.adopt!.manifest.id : this.pending!.id;
  }

  private async refuse(snap: PromiseSettledResult<void>, prep: PromiseSettledResult<void>): Promise<RestoreOutcome> {
    this.pending!.discard();
    await this.discardPrepared();
    const reason = snap.status === "rejected" ? snap.reason : (prep as PromiseRejectedResult).reason;
    const e = reason instanceof Error ? reason : new Error(String(reason));
    // Once it has started services (left stopped by a run that died), a refusal is no longer "nothing touched".
    if (snap.status === "rejected") throw this.startedLeft ? touched(e) : e;
    return { snapshot: undefined, results: this.results, error: this.startedLeft ? touched(e) : e };
  }

  private async discardPrepared(): Promise<void> {
    for (const [c, p] of this.prepared) if (this.results[c] !== "restored") await p.discard();
  }

  /** snapshotted → frozen → swapped → started, with the dependents stopped around it. */
  private async restoreStopped(): Promise<void> {
    const [states, definitions] = await this.looked!;
    await restoreWhileStopped(this, states, definitions);
    // The restore is done and proven: a record that cannot be written now is a warning, not a failed restore.
    try {
      this.to("started");
    } catch (e) {
      this.out.warn(msg.restore.apply.recordNotWritten({ message: (e as Error).message }));
    }
  }

  /** Recorded before anything is overwritten: `rollback.mts --undo` finds it even if this run dies. */
  commit(all: readonly ComponentRecord[]): void {
    const pending = this.pending!;
    // An adopted component's record is the dead run's own (made when it froze it).
    const extra = all.filter((r) => !this.adopted.has(r.name));
    if (!extra.length && !pending.hasRecords()) {
      pending.discard();
      this.snapshot = this.adopt!.dir;
      return;
    }
    const b = pending.commit(extra);
    // Finishing an unfinished restore: its snapshot stays the undo point (it holds the state before both).
    if (this.o.recordUndo !== false && this.adopted.size === 0)
      this.ports.snapshots.writeUndo(b.dir, this.event(), this.plan.manifest.id, new Date());
    this.out.info(msg.restore.apply.undoWith({ command: undoCommand(this.project, join("backups", this.plan.snapshotTier, b.id), b.manifest) }));
    this.snapshot = b.dir;
  }

  /** Marks in the snapshots' manifests (and in the record) the components whose data was moved aside. */
  moved(cs: readonly ComponentName[]): void {
    const own = cs.filter((c) => !this.adopted.has(c));
    const theirs = cs.filter((c) => this.adopted.has(c));
    if (theirs.length) this.ports.snapshots.markMoved(this.adopt!.dir, theirs);
    if (this.snapshot && own.length && this.snapshot !== this.adopt?.dir) this.ports.snapshots.markMoved(this.snapshot, own);
    this.rec = { ...this.rec!, moved: [...cs] };
    this.ports.records.write(this.rec);
  }
}
