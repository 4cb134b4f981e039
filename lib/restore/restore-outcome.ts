/**
 * What a restore ends with: each component's result, the snapshot it took, the backend's
 * downtime; the rule that past the snapshot no error claims "nothing was touched"; and the
 * command that undoes it.
 */
import type { Manifest } from "../backup/manifest.ts";
import { COMPONENTS, type ComponentName } from "../backup/manifest.ts";
import { ClawError, ExitCode } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import type { Project } from "../project/project.ts";

export type ComponentResult = "restored" | "skipped" | "failed" | "not reached";

export interface Timing {
  /** The backend's downtime: from stopping it to its healthcheck passing again (undefined: it was not stopped). */
  backendDowntimeMs?: number;
  /** The restored configuration resolves to other service definitions than before: services are recreated from it. */
  definitionsChanged?: boolean;
}

export interface RestoreOutcome extends Timing {
  snapshot: string | undefined;
  results: Record<ComponentName, ComponentResult>;
  error?: Error;
}

export interface ApplyOptions {
  /**
   * false when finishing a rollback/restore that died: the undo record keeps pointing at the
   * dead run's own snapshot (the state before it), not at the half-restored state this run saves.
   */
  recordUndo?: boolean;
}

/** Pure: every component "not reached" when the plan restores it, else "skipped". */
export const initialResults = (components: readonly ComponentName[]): RestoreOutcome["results"] =>
  Object.fromEntries(COMPONENTS.map((c) => [c, components.includes(c) ? "not reached" : "skipped"])) as RestoreOutcome["results"];

/**
 * Past the snapshot the live stack has been touched (services stopped, data replaced): no
 * error from here on may claim exit 3, "nothing was touched".
 */
export function touched(e: unknown): Error {
  if (e instanceof ClawError && e.exitCode === ExitCode.precondition) return new ClawError(e.message, { hint: e.hint, cause: e });
  return e instanceof Error ? e : new Error(String(e));
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
