/**
 * Typed errors and the exit codes. EXIT_CODES is the one table: --help prints it, and a unit
 * test checks the README's table against it. Only a script's entry point (lib/cli/run.ts)
 * turns an error into an exit code; helpers throw, so cleanups and lock releases run.
 */
import { msg } from "./i18n/index.ts";

const CODES = [
  { code: 0, name: "ok" },
  { code: 1, name: "failed" },
  { code: 2, name: "usage" },
  { code: 3, name: "precondition" },
  { code: 4, name: "lockHeld" },
  { code: 5, name: "invalidBackup" },
  { code: 6, name: "migrationsPending" },
  { code: 7, name: "databaseAhead" },
  { code: 130, name: "cancelled" },
] as const;

/** The codes with their words in the operator's language (`short` for --help, `meaning` for the README table). */
export const EXIT_CODES = CODES.map((e) => ({
  ...e,
  get short(): string {
    return msg.core.exit[e.name].short;
  },
  get meaning(): string {
    return msg.core.exit[e.name].meaning;
  },
}));

type ExitCodeTable = typeof CODES;
export const ExitCode = Object.fromEntries(CODES.map((e) => [e.name, e.code])) as {
  readonly [E in ExitCodeTable[number] as E["name"]]: E["code"];
};
export type ExitCodeValue = ExitCodeTable[number]["code"];

/** The exit-status line of every script's --help. */
export function exitCodesHelp(): string {
  return msg.core.exit.line({ codes: EXIT_CODES.map((e) => `${e.code} ${e.short}`).join(msg.core.exit.sep) });
}

export class ClawError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  /** The backup component it concerns, as data: callers never parse it out of the (translated) message. */
  readonly component: string | undefined;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string | undefined; cause?: unknown; component?: string | undefined } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
    this.component = opts.component;
  }
}

/**
 * A failure that comes with its --json result, built where the facts are (what serves now,
 * each component's result, what to run next): only the CLI prints it, in place of the generic
 * one, then reports `failure` as it would have.
 */
export class FailedWithResult extends Error {
  constructor(
    readonly failure: unknown,
    readonly result: Readonly<Record<string, unknown>>,
  ) {
    super(failure instanceof Error ? failure.message : String(failure), { cause: failure });
    this.name = new.target.name;
  }
}

/** Bad flags or arguments: nothing was done. */
export class UsageError extends ClawError {
  constructor(message: string, hint: string = msg.core.errors.usageHint) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** The environment is not fit to run in (config, secrets, Docker, a service down): nothing was touched. */
export class PreconditionError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.precondition, hint });
  }
}

export class LockHeldError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.lockHeld, hint });
  }
}

export class InvalidBackupError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.invalidBackup, hint });
  }
}

export class CancelledError extends ClawError {
  constructor(message: string = msg.core.errors.cancelled) {
    super(message, { exitCode: ExitCode.cancelled });
  }
}

/** The database is at a revision the image does not know: refuse (nothing changed). */
export class DatabaseAheadError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.databaseAhead, hint });
  }
}

/** A service the run started (again) did not become healthy: the run touched it, so exit 1. */
export class ServiceUnhealthyError extends ClawError {
  /** The service that did not come up, as data (callers never parse the message). */
  readonly service: string | undefined;
  constructor(message: string, hint?: string, service?: string) {
    super(message, { exitCode: ExitCode.failed, hint });
    this.service = service;
  }
}

/** Data written by a restore does not match what the backup holds (rows, keys, files). */
export class RestoreMismatchError extends ClawError {
  constructor(component: string, detail: string) {
    super(`${component}: ${detail}`, {
      exitCode: ExitCode.failed,
      hint: msg.core.errors.restoreMismatchHint,
    });
  }
}

/** A process we ran exited non-zero, or was killed. `command` is already redacted. */
export class CommandError extends ClawError {
  readonly command: string;
  readonly status: number | null;
  readonly stderrTail: string;
  constructor(command: string, status: number | null, stderrTail: string, hint?: string, signal?: string | null) {
    const tail = stderrTail.trim().split("\n").slice(-1)[0] ?? "";
    const how = status === null || status === -1 ? msg.core.errors.killedBy({ signal: signal ?? undefined }) : msg.core.errors.exitStatus({ status });
    super(msg.core.errors.commandFailed({ how, command, tail }), { exitCode: ExitCode.failed, hint });
    this.command = command;
    this.status = status;
    this.stderrTail = stderrTail;
  }
}

/**
 * The work failed and so did its cleanup (a restart, a removal): the work's error stays the
 * one reported (its exit code and hint), the cleanup failures are named after it, and all of
 * them are kept as `cause` (an AggregateError) for --verbose.
 */
export class CleanupFailedError extends ClawError {
  readonly primary: unknown;
  readonly cleanup: readonly unknown[];
  constructor(primary: unknown, cleanup: readonly unknown[]) {
    const text = (e: unknown) => (e instanceof Error ? e.message : String(e));
    const first = primary instanceof ClawError ? primary : undefined;
    const hints = [first?.hint, ...cleanup.map((c) => (c instanceof ClawError ? c.hint : undefined))].filter((h): h is string => !!h);
    super(msg.core.errors.andThen({ primary: text(primary), cleanup: cleanup.map(text).join("; ") }), {
      exitCode: first?.exitCode === ExitCode.precondition ? ExitCode.failed : (first?.exitCode ?? ExitCode.failed),
      hint: hints.length ? [...new Set(hints)].join("; ") : undefined,
      cause: new AggregateError([primary, ...cleanup], "the work and its cleanup failed"),
    });
    this.primary = primary;
    this.cleanup = cleanup;
  }
}

/** Join a main error with the errors of its cleanups; the main error alone when they all succeeded. */
export function joinErrors(primary: unknown, cleanup: readonly unknown[]): unknown {
  return cleanup.length === 0 ? primary : new CleanupFailedError(primary, cleanup);
}
