/**
 * The one executor: the only module that starts processes (through zx's `$`). Everything
 * else builds argv arrays (pure, unit-tested) and hands them here.
 *
 * Data is streamed by giving the child a file descriptor as stdin or stdout: a dump goes
 * from the container straight into its file and never passes through Node's memory.
 * Secrets travel in the child's environment, never in argv, and every printed command and
 * error is redacted.
 */
import { closeSync, openSync } from "node:fs";
import { $, type ProcessOutput } from "zx";
import { CommandError } from "./errors.ts";
import { msg } from "./i18n/index.ts";
import { REDACTED, redact, Secret } from "./secret.ts";
import { shellQuote } from "./shell.ts";

export interface Cmd {
  readonly argv: readonly string[];
  /** Extra environment for the child; Secret values are revealed only to the child. */
  readonly env?: Readonly<Record<string, string | Secret>>;
}

export interface RunOptions {
  cwd?: string;
  /** Small stdin content. */
  input?: string;
  /** Stream this file into the child's stdin. */
  stdinFile?: string;
  /** Stream the child's stdout into this file (created or truncated, mode 0600). */
  stdoutFile?: string;
  /** Return the result of a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  timeoutMs?: number;
  /** Next step for the operator, attached to the error if the command fails. */
  hint?: string;
  /** Kills the child when aborted (a probe whose sibling already succeeded). */
  signal?: AbortSignal;
  /**
   * Ends the work when `timeoutMs` runs out, instead of a SIGTERM to the child (a CLI that
   * waits for a container its SIGTERM does not stop); the SIGTERM follows a grace period later.
   */
  onTimeout?: () => Promise<unknown>;
}

/** After `onTimeout`, how long the child may take to exit before it gets the SIGTERM. */
const ON_TIMEOUT_GRACE_MS = 30_000;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Ended by its own time limit (set when `onTimeout` ran). */
  timedOut?: true;
}

type CommandListener = (printable: string) => void;
let listener: CommandListener | undefined;
/** The output module subscribes here to log each command (already redacted). */
export function onCommand(fn: CommandListener | undefined): void {
  listener = fn;
}

/** A shell-like, redacted rendering of a command, for logs and --dry-run. */
export function formatCommand(cmd: Cmd | readonly string[]): string {
  const argv = Array.isArray(cmd) ? cmd : (cmd as Cmd).argv;
  // Each argument masked before it is quoted: quoting a secret holding ' would hide it from the mask.
  return redact(
    argv
      .map((raw) => redact(raw))
      .map((a) => (a === REDACTED ? a : shellQuote(a)))
      .join(" "),
  );
}

export async function run(cmd: Cmd, opts: RunOptions = {}): Promise<RunResult> {
  const printable = formatCommand(cmd);
  listener?.(printable);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(cmd.env ?? {})) env[k] = v instanceof Secret ? v.reveal() : v;

  const fds: number[] = [];
  const started = Date.now();
  let fired = false;
  const timer =
    opts.onTimeout && opts.timeoutMs
      ? setTimeout(() => {
          fired = true;
          opts.onTimeout!().catch(() => undefined);
        }, opts.timeoutMs)
      : undefined;
  const zxTimeout = opts.timeoutMs && timer ? opts.timeoutMs + ON_TIMEOUT_GRACE_MS : opts.timeoutMs;
  try {
    const stdin = opts.stdinFile !== undefined ? fds[fds.push(openSync(opts.stdinFile, "r")) - 1]! : "pipe";
    const stdout = opts.stdoutFile !== undefined ? fds[fds.push(openSync(opts.stdoutFile, "w", 0o600)) - 1]! : "pipe";
    const [bin, ...args] = cmd.argv;
    if (!bin) throw new Error(msg.core.errors.emptyCommand);
    const out: ProcessOutput = await $({
      cwd: opts.cwd,
      env,
      input: opts.input,
      stdio: [stdin, stdout, "pipe"],
      nothrow: true,
      quiet: true,
      verbose: false,
      ...(zxTimeout ? { timeout: zxTimeout } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    })`${bin} ${args}`;
    const status = out.exitCode ?? -1;
    const result: RunResult = { status, stdout: out.stdout, stderr: redact(out.stderr), ...(fired ? { timedOut: true } : {}) };
    if (status !== 0 && !opts.allowFailure) {
      // Name what killed it: our own time limit (the docker CLI passes the SIGTERM on to the
      // container and exits 143 itself), or a signal from outside.
      const timedOut = fired || (opts.timeoutMs !== undefined && Date.now() - started >= opts.timeoutMs);
      const signal = timedOut
        ? msg.core.errors.timedOut({ signal: fired ? "SIGKILL" : (out.signal ?? "SIGTERM"), secs: Math.round(opts.timeoutMs! / 1000) })
        : out.signal;
      throw new CommandError(printable, timedOut ? null : out.exitCode, tail(result.stderr || result.stdout), opts.hint, signal);
    }
    return result;
  } finally {
    clearTimeout(timer);
    for (const fd of fds) closeSync(fd);
  }
}

/** Whether a program can be started at all (for tool detection). */
export async function canRun(cmd: Cmd): Promise<boolean> {
  try {
    return (await run(cmd, { allowFailure: true, timeoutMs: 20_000 })).status === 0;
  } catch {
    return false;
  }
}

/** The last line of a command's output (its error, usually), for a one-line message. */
export function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.slice(0, 300) ?? "";
}

function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
