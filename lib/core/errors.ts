/**
 * Typed errors and the documented exit codes. Only a script's entry point turns an error
 * into an exit code (see lib/cli.ts); helpers throw, so cleanups and lock releases run.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  precondition: 3,
  lockHeld: 4,
  invalidBackup: 5,
  cancelled: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class ClawError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
  }
}

/** Bad flags or arguments: nothing was done. */
export class UsageError extends ClawError {
  constructor(message: string, hint = "run with --help to see the flags") {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** The environment is not fit to run in (config, secrets, Docker, a service down). */
export class PreconditionError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.precondition, ...(hint ? { hint } : {}) });
  }
}

export class LockHeldError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.lockHeld, ...(hint ? { hint } : {}) });
  }
}

export class InvalidBackupError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.invalidBackup, ...(hint ? { hint } : {}) });
  }
}

export class CancelledError extends ClawError {
  constructor(message = "cancelled") {
    super(message, { exitCode: ExitCode.cancelled });
  }
}

/** A process we ran exited non-zero. `command` is already redacted. */
export class CommandError extends ClawError {
  readonly command: string;
  readonly status: number | null;
  readonly stderrTail: string;
  constructor(command: string, status: number | null, stderrTail: string, hint?: string) {
    const tail = stderrTail.trim().split("\n").slice(-1)[0] ?? "";
    super(`command failed (exit ${status ?? "signal"}): ${command}${tail ? ` — ${tail}` : ""}`, {
      exitCode: ExitCode.failed,
      ...(hint ? { hint } : {}),
    });
    this.command = command;
    this.status = status;
    this.stderrTail = stderrTail;
  }
}
