/**
 * The user's crontab, for the lines claw-ops owns (the backup's, certbot's renewal): validate a
 * schedule, show when it will run, pin the PATH a line runs with, and replace our lines in the
 * crontab so that installing twice leaves one line. What each line runs is its owner's
 * (backup/schedule.ts, deploy/tls-renewal.ts).
 *
 * Validation keeps to what crontab(5) itself accepts (5 fields of numbers, names, `*`, `-`, `/`
 * and `,`, or one of the time macros), because cron-parser alone accepts more (seconds, L, #, ?,
 * H, fewer fields) that `crontab -` would then refuse or run differently. cron-parser checks
 * ranges and computes the next runs, in local time, as the cron daemon does.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { CronExpressionParser } from "cron-parser";
import { crontabInstall, crontabList } from "../commands/crontab.ts";
import { CommandError, PreconditionError, UsageError } from "../core/errors.ts";
import { formatCommand, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";

/** The schedule a refused expression's hint shows: 02:00 daily, as the hint's text says. */
const EXAMPLE_SCHEDULE = "0 2 * * *";

/** Macros crontab accepts, with the 5-field schedule they stand for. @reboot is not a schedule. */
const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec";
const DAYS = "sun|mon|tue|wed|thu|fri|sat";
const FIELDS: readonly { name: keyof typeof msg.backup.schedule.fieldNames; item: RegExp }[] = [
  { name: "minute", item: field("\\d+") },
  { name: "hour", item: field("\\d+") },
  { name: "day-of-month", item: field("\\d+") },
  { name: "month", item: field(`\\d+|${MONTHS}`) },
  { name: "day-of-week", item: field(`\\d+|${DAYS}`) },
];

/** One comma-separated item of a field: `v`, or `*` or `v-v` optionally with `/step`. */
function field(value: string): RegExp {
  const v = `(?:${value})`;
  return new RegExp(`^(?:${v}|(?:\\*|${v}-${v})(?:/\\d+)?)$`, "i");
}

/** Throws UsageError (exit 2) unless crontab would accept `expr` as a schedule. */
export function validateCron(expr: string): void {
  toFiveFields(expr);
}

/** The next `count` times the schedule fires after `from`, in the local time zone. */
export function nextRuns(expr: string, from: Date, count = 3): Date[] {
  const it = parse(toFiveFields(expr), expr, from);
  const out: Date[] = [];
  for (let i = 0; i < count && it.hasNext(); i++) out.push(it.next().toDate());
  return out;
}

/** In a crontab command an unescaped % ends the command (the rest becomes stdin). */
export const crontabSafe = (s: string) => s.replace(/%/g, "\\%");

/** The same command as sh runs it outside crontab (crontab's `\%` is a plain `%`). */
export const unescapeCrontab = (command: string) => command.replace(/\\%/g, "%");

/** Cron's own environment: no profile, PATH=/usr/bin:/bin. */
export const CRON_PATH = "/usr/bin:/bin";

/**
 * Pure: the PATH a cron line pins: the directories given (where node, npx, docker were found
 * now), then the system directories. Relative entries are never taken.
 */
export function pinnedPath(dirs: ReadonlyArray<string | undefined>): string {
  const system = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  return [...new Set([...dirs.filter((d): d is string => !!d && d.startsWith("/")), ...system])].join(":");
}

/** The directory on PATH holding an executable `name`, if any (what `command -v` finds). */
export function dirOnPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return dir;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Puts `line` into the crontab text `existing` in place of every line `isOurs` picks (the
 * first keeps its place; without one, the line is appended). Every other line is kept byte
 * for byte. Pure.
 */
export function replaceCrontabLines(existing: string, line: string, isOurs: (line: string) => boolean): { text: string; changed: boolean } {
  const lines = existing === "" ? [] : existing.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let placed = false;
  for (const l of lines) {
    if (isOurs(l)) {
      if (!placed) out.push(line);
      placed = true;
    } else {
      out.push(l);
    }
  }
  if (!placed) out.push(line);
  const text = `${out.join("\n")}\n`;
  return { text, changed: text !== existing };
}

/** The current user's crontab; "" if there is none. */
export async function readCrontab(): Promise<string> {
  const r = await run({ argv: crontabList() }, { allowFailure: true, timeoutMs: 30_000 });
  if (r.status === 0) return r.stdout;
  notInstalled(r.status, r.stderr);
  if (/no crontab for/i.test(r.stderr)) return "";
  throw crontabFailed(crontabList(), r.status, r.stderr);
}

/** Replaces the current user's crontab with `text`. */
export async function writeCrontab(text: string): Promise<void> {
  const r = await run({ argv: crontabInstall() }, { input: text, allowFailure: true, timeoutMs: 30_000 });
  if (r.status === 0) return;
  notInstalled(r.status, r.stderr);
  throw crontabFailed(crontabInstall(), r.status, r.stderr);
}

// ---------------------------------------------------------------------------------------------

/** Checks `expr` the way crontab does and returns it as 5 fields (macros expanded). */
function toFiveFields(expr: string): string {
  const bad = (reason: string): UsageError =>
    new UsageError(msg.backup.schedule.invalidCron({ expr, reason }), msg.backup.schedule.cronHint({ example: EXAMPLE_SCHEDULE }));
  if (/[\r\n]/.test(expr)) throw bad(msg.backup.schedule.singleLine);
  const trimmed = expr.trim();
  if (trimmed === "") throw bad(msg.backup.schedule.empty);
  if (trimmed.startsWith("@")) {
    const five = MACROS[trimmed];
    if (!five) throw bad(msg.backup.schedule.unsupportedMacro({ macro: trimmed, list: Object.keys(MACROS).join(", ") }));
    return five;
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    throw bad(parts.length === 6 ? msg.backup.schedule.fieldCountSeconds({ n: parts.length }) : msg.backup.schedule.fieldCount({ n: parts.length }));
  }
  parts.forEach((p, i) => {
    const f = FIELDS[i]!;
    for (const item of p.split(",")) {
      if (!f.item.test(item)) throw bad(msg.backup.schedule.badField({ field: msg.backup.schedule.fieldNames[f.name], value: p, names: i >= 3 }));
    }
  });
  const five = parts.join(" ");
  const probe = parse(five, expr, new Date());
  if (!probe.hasNext()) throw bad(msg.backup.schedule.neverFires);
  return five;
}

function parse(five: string, original: string, from: Date) {
  try {
    // No tz: local time, like the cron daemon.
    return CronExpressionParser.parse(five, { currentDate: from });
  } catch (e) {
    throw new UsageError(
      msg.backup.schedule.invalidCron({ expr: original, reason: (e as Error).message }),
      msg.backup.schedule.cronHint({ example: EXAMPLE_SCHEDULE }),
    );
  }
}

function notInstalled(status: number, stderr: string): void {
  if (status === 127 || /crontab: (command )?not found/i.test(stderr)) {
    throw new PreconditionError(msg.backup.schedule.notInstalled, msg.backup.schedule.notInstalledHint);
  }
}

function crontabFailed(argv: readonly string[], status: number, stderr: string): CommandError {
  return new CommandError(formatCommand(argv), status, stderr, msg.backup.schedule.crontabFailedHint);
}
