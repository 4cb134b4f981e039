/**
 * Undo that is never lost: the work runs, its cleanup runs whatever happened, and a cleanup
 * that fails never replaces the work's own error (docker-volume-backup's stop_restart.go).
 *  - work ok, cleanup ok      → the work's value
 *  - work ok, cleanup fails   → the cleanup's error
 *  - work fails, cleanup ok   → the work's error, unchanged
 *  - both fail                → CleanupFailedError: the work's error first, exit code and hint kept
 */
import { joinErrors } from "./errors.ts";

export async function withCleanup<T>(work: () => Promise<T>, cleanup: () => Promise<unknown>): Promise<T> {
  let value: T;
  try {
    value = await work();
  } catch (e) {
    const after = await cleanup().then(
      () => undefined,
      (c: unknown) => c,
    );
    throw after === undefined ? e : joinErrors(e, [after]);
  }
  await cleanup();
  return value;
}

/** What can stop services and start them again (the compose client; a fake in unit tests). */
export interface ServiceControl {
  stop(services: readonly string[]): Promise<void>;
  /** Start them again and wait until each is ready. */
  startReady(services: readonly string[]): Promise<void>;
}

export interface WhileStoppedOptions {
  /**
   * false: the work stops the services itself, one at a time as it needs (a consistent copy
   * of several services); they are all started again just the same.
   */
  stopFirst?: boolean;
}

/**
 * The one stop/start primitive: stop `services`, run the work, start them again (in the
 * given order) whatever happened. The restart is registered the moment the stop was asked
 * for, so a stop that failed half-way still gets its services started.
 */
export async function whileStopped<T>(
  control: ServiceControl,
  services: readonly string[],
  work: () => Promise<T>,
  o: WhileStoppedOptions = {},
): Promise<T> {
  if (services.length === 0) return work();
  return withCleanup(
    async () => {
      if (o.stopFirst !== false) await control.stop(services);
      return work();
    },
    () => control.startReady(services),
  );
}

/**
 * Run steps in order; when one fails, undo the steps already done, last first, and throw the
 * failure joined with any undo that failed too.
 */
export async function runUndoable<T>(steps: ReadonlyArray<{ sql: T; undo?: T | undefined }>, exec: (x: T) => Promise<unknown>): Promise<void> {
  const done: Array<{ undo?: T | undefined }> = [];
  for (const step of steps) {
    try {
      await exec(step.sql);
    } catch (e) {
      const failed: unknown[] = [];
      for (const d of done.reverse()) if (d.undo !== undefined) await exec(d.undo).catch((u: unknown) => failed.push(u));
      throw joinErrors(e, failed);
    }
    done.push(step);
  }
}
