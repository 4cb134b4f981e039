/**
 * What an operator sees and what the run leaves behind.
 * - On a TTY: @clack/prompts spinners and symbols.
 * - Without one (cron, CI, pipes): plain timestamped lines.
 * - Always: a log file per run under logs/ (0600 in a 0700 dir), every line redacted.
 * - `--json`: human lines go to stderr, the one JSON result to stdout.
 */
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import * as clack from "@clack/prompts";
import { onCommand } from "./exec.ts";
import { type Localized, msg } from "./i18n/index.ts";
import { redact } from "./secret.ts";
import { formatBackupId } from "./vocabulary/backup-id.ts";

export type Level = "info" | "warn" | "error" | "success" | "debug";

export interface OutputOptions {
  script: string;
  json?: boolean;
  verbose?: boolean;
  /** Directory for the run's log file; none when undefined (e.g. --help, usage errors). */
  logDir?: string;
  tty?: boolean;
  now?: () => Date;
}

export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** logs/<script>-YYYYMMDD-HHMMSS.log, in UTC. */
export function logFileName(script: string, d: Date): string {
  return `${script}-${formatBackupId(d, "utc")}.log`;
}

export class Output {
  readonly tty: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly logFile: string | undefined;
  private readonly now: () => Date;

  constructor(readonly opts: OutputOptions) {
    this.json = opts.json ?? false;
    this.verbose = opts.verbose ?? false;
    this.tty = (opts.tty ?? Boolean(process.stdout.isTTY && process.stderr.isTTY)) && !this.json;
    this.now = opts.now ?? (() => new Date());
    if (opts.logDir) {
      mkdirSync(opts.logDir, { recursive: true, mode: 0o700 });
      this.logFile = join(opts.logDir, logFileName(opts.script, this.now()));
      closeSync(openSync(this.logFile, "a", 0o600));
      chmodSync(this.logFile, 0o600);
    }
    onCommand((cmd) => this.debug(`$ ${cmd}`));
  }

  /** The log file's line for a message (redacted); returned for the plain-output path. */
  private toLog(level: Level, text: string): string {
    const line = `${timestamp(this.now())} ${level.toUpperCase().padEnd(7)} ${text}`;
    if (this.logFile) appendFileSync(this.logFile, `${line}\n`);
    return line;
  }

  private write(level: Level, message: string): void {
    const text = redact(message);
    const line = this.toLog(level, text);
    if (level === "debug" && !this.verbose) return;
    if (this.tty) {
      const fn =
        level === "success"
          ? clack.log.success
          : level === "warn"
            ? clack.log.warn
            : level === "error"
              ? clack.log.error
              : level === "debug"
                ? clack.log.message
                : clack.log.info;
      fn(text, { output: process.stderr });
      return;
    }
    (this.json || level === "error" || level === "warn" ? process.stderr : process.stdout).write(`${line}\n`);
  }

  info(m: string): void {
    this.write("info", m);
  }
  success(m: string): void {
    this.write("success", m);
  }
  warn(m: string): void {
    this.write("warn", m);
  }
  error(m: string): void {
    this.write("error", m);
  }
  debug(m: string): void {
    this.write("debug", m);
  }

  /** Every step this run took, in the order they finished, with its time: the JSON result's `phases`. */
  readonly phases: Array<{ step: string; ms: number; ok: boolean }> = [];

  /** A named step: a spinner on a TTY, start/finish lines otherwise. */
  async step<T>(name: string | Localized, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    // --json names the phase in English whatever the operator reads (scripts parse it).
    const title = typeof name === "string" ? name : name.text;
    const step = typeof name === "string" ? name : name.en;
    const record = (ok: boolean) => this.phases.push({ step, ms: Date.now() - started, ok });
    const spin = this.tty ? clack.spinner({ output: process.stderr }) : undefined;
    // On a TTY the spinner shows the step and only the log file gets the lines.
    const say = (level: Level, m: string) => (spin ? this.toLog(level, redact(m)) : this.write(level, m));
    spin?.start(title);
    say("info", msg.core.output.stepStarted({ title }));
    try {
      const result = await fn();
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      record(true);
      spin?.stop(msg.core.output.stepSpinnerDone({ title, secs }));
      say("success", msg.core.output.stepDone({ title, secs }));
      return result;
    } catch (e) {
      record(false);
      spin?.error(msg.core.output.stepFailed({ title }));
      say("error", msg.core.output.stepFailed({ title }));
      throw e;
    }
  }

  /** Whether the run's JSON result is out already (lib/cli/result.ts): stdout holds one document. */
  resultWritten = false;

  close(): void {
    onCommand(undefined);
  }
}
