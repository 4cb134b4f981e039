/** What every backup component provides, and the context it runs in. */
import type { Output } from "../../core/output.ts";
import { formatBackupId } from "../../core/vocabulary/backup-id.ts";
import type { Project } from "../../project/project.ts";
import type { ComponentName, ComponentRecord } from "../manifest.ts";

export interface ComponentContext {
  project: Project;
  /** The backup directory (a staging directory while a backup is being written). */
  dir: string;
  out: Output;
}

export type BackupResult = Pick<ComponentRecord, "artifacts" | "tools" | "counts" | "notes" | "kept">;

/** The backup half: writing a component's artifacts and proving them. */
export interface BackupSide {
  name: ComponentName;
  /** Write the component's artifacts into ctx.dir; return what the manifest records. */
  backup(ctx: ComponentContext): Promise<BackupResult>;
  /** Check the artifacts with the component's own tool (pg_restore --list, redis-check-rdb, …). */
  verify(ctx: ComponentContext, rec: ComponentRecord): Promise<void>;
  /**
   * Restore drill: restore the artifacts into a throwaway container or a private temporary
   * directory (never the live data) and compare what comes back with rec.counts.
   * Returns one line saying what was proven.
   */
  drill(ctx: ComponentContext, rec: ComponentRecord): Promise<string>;
}

/**
 * The restore half, in the order a restore calls it: check → prepare → freeze → swap (or
 * restore); recover and kept serve every script, before and after restores.
 */
export interface RestoreSide {
  /**
   * Before a restore touches anything (before its snapshot): refuse an artifact that must not
   * be restored (a crafted archive: entries outside what this component is made of, odd entry
   * kinds) or a live tree it could not be restored into safely. InvalidBackupError (exit 5) for
   * the artifact, PreconditionError (exit 3) for the live side.
   */
  check?(ctx: ComponentContext, rec: ComponentRecord): Promise<void>;
  /**
   * The part of a restore that touches no live data (Postgres: the dump restored into a
   * database of its own and checked), run while the snapshot is being taken and before any
   * service is stopped; restore() then only swaps it in. discard() removes what it made.
   */
  prepare?(ctx: ComponentContext, rec: ComponentRecord, tag: string): Promise<PreparedRestore>;
  /**
   * In-place snapshot (a component that can keep what it replaces): with the dependents
   * stopped, stop the component's own services and record what is live; nothing replaced
   * yet. The restore commits the snapshot's manifest with this record, then calls swap().
   */
  freeze?(ctx: ComponentContext, rec: ComponentRecord, prepared: PreparedRestore): Promise<Frozen>;
  /**
   * An in-place snapshot record whose data was never moved aside (its restore died after the
   * snapshot was committed, before this component's swap): the live data is its state, so
   * restoring it is nothing to do.
   */
  unmoved?(ctx: ComponentContext, rec: ComponentRecord): Promise<boolean>;
  /** Whether freeze can keep in place on this host (default yes). */
  canKeep?(ctx: ComponentContext): boolean;
  /** Make the live data equal the backup (from what prepare made, when given), and prove it against rec.counts. */
  restore(ctx: ComponentContext, rec: ComponentRecord, prepared?: PreparedRestore): Promise<void>;
  /**
   * Put back together what a restore that died left half-swapped of this component (a move
   * aside not finished is moved back, one that finished is completed, lone staging removed).
   * Nothing to do when its services are not in the stack. ctx.dir is the project root.
   */
  recover?(ctx: ComponentContext): Promise<Recovery>;
  /** Where this component keeps in-place snapshots beside the live data on this stack (none when its services are not in it). */
  kept?(ctx: ComponentContext): KeptPlace[];
}

export interface Component extends BackupSide, RestoreSide {}

/** What recover() did. */
export interface Recovery {
  /** Lines to warn about, one per repair. */
  lines: string[];
  /** It could not look now (Postgres not running): the swap stays marked for the next run. */
  later?: boolean;
}

/** One place that holds in-place snapshots (a server, a volume, a directory): their tags, and their removal. */
export interface KeptPlace {
  /** What a warning or the removed list names it by (`postgres`, a volume's service, `uploads`). */
  what: string;
  list(): Promise<string[]>;
  drop(tags: readonly string[]): Promise<void>;
}

export interface PreparedRestore {
  /** What restore() swaps in (a database name, …). */
  readonly ref: string;
  /** The restore's tag (its snapshot's id): names the staging and the in-place snapshot. */
  readonly tag: string;
  discard(): Promise<void>;
}

export interface Frozen {
  /** What the in-place snapshot's manifest records for this component (kept: the data it replaces). */
  record: BackupResult;
  /** Swap the prepared data in (what it replaces kept under the tag), start the services again, prove it against the backup. */
  swap(): Promise<void>;
  /** Start the services again without swapping anything (another component could not freeze). */
  thaw(): Promise<void>;
  /** Whether swap() got as far as moving the replaced data aside (it is then the snapshot's). */
  readonly moved: boolean;
}

/** The swap of a prepared restore: `keep` keeps what it replaces as the in-place snapshot, else that is dropped. */
export type SwapIn = (ctx: ComponentContext, rec: ComponentRecord, ready: PreparedRestore, keep: boolean) => Promise<Frozen>;

/**
 * freeze() and restore() of a component that restores by staging beside the live data and
 * swapping: freeze keeps what the swap replaces; restore (a copied snapshot, or a restore on
 * its own) prepares when nothing was prepared and drops what it replaces.
 */
export function swapping(prepare: NonNullable<Component["prepare"]>, swapIn: SwapIn): Pick<Component, "freeze" | "restore"> {
  return {
    freeze: (ctx, rec, prepared) => swapIn(ctx, rec, prepared, true),
    async restore(ctx, rec, prepared) {
      const ready = prepared ?? (await prepare(ctx, rec, formatBackupId(new Date())));
      await (await swapIn(ctx, rec, ready, false)).swap();
    },
  };
}

/** What an in-place snapshot's manifest records for a component: no artifacts, its tag, what was recorded. */
export const keptResult = (tag: string, counts: Record<string, number>, tools: Record<string, string>, note: string): BackupResult => ({
  artifacts: [],
  kept: { tag },
  tools,
  counts,
  notes: [note],
});
