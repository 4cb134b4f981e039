/** What every backup component provides, and the context it runs in. */
import type { Output } from "../../core/output.ts";
import type { Project } from "../../project/project.ts";
import type { ComponentName, ComponentRecord } from "../manifest.ts";

export interface ComponentContext {
  project: Project;
  /** The backup directory (a staging directory while a backup is being written). */
  dir: string;
  out: Output;
}

export type BackupResult = Pick<ComponentRecord, "artifacts" | "tools" | "counts" | "notes">;

export interface Component {
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
  prepare?(ctx: ComponentContext, rec: ComponentRecord): Promise<PreparedRestore>;
  /** Make the live data equal the backup (from what prepare made, when given), and prove it against rec.counts. */
  restore(ctx: ComponentContext, rec: ComponentRecord, prepared?: PreparedRestore): Promise<void>;
}

export interface PreparedRestore {
  /** What restore() swaps in (a database name, …). */
  readonly ref: string;
  discard(): Promise<void>;
}
