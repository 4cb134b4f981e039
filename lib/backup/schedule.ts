/**
 * `backup.mts --install-cron [<expr>]`: validate a schedule, show when it will run, build the
 * crontab line and merge it into the user's crontab so that installing twice leaves one line.
 *
 * Validation keeps to what crontab(5) itself accepts (5 fields of numbers, names, `*`, `-`, `/`
 * and `,`, or one of the time macros), because cron-parser alone accepts more (seconds, L, #, ?,
 * H, fewer fields) that `crontab -` would then refuse or run differently. cron-parser checks
 * ranges and computes the next runs, in local time, as the cron daemon does.
 */
import { CronExpressionParser } from "cron-parser";
import { crontabInstall, crontabList } from "../commands/crontab.ts";
import { CommandError, PreconditionError, UsageError } from "../core/errors.ts";
import { formatCommand, run } from "../core/exec.ts";

export const DEFAULT_BACKUP_CRON = "0 2 * * *";

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
const FIELDS: readonly { name: string; item: RegExp }[] = [
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

/** The crontab line that runs the backup from `projectDir`, logging to logs/backup.log. */
export function backupCronLine(expr: string, projectDir: string): string {
  validateCron(expr);
  return `${expr.trim().split(/\s+/).join(" ")} ${cdPrefix(projectDir)} npx zx scripts/backup.mts >> logs/backup.log 2>&1`;
}

/**
 * Puts `line` into the crontab text `existing`, replacing every line that runs
 * scripts/backup.mts for this projectDir (the first keeps its place; without one, the line is
 * appended). Every other line, comments included, is kept byte for byte. Pure.
 */
export function mergeCrontab(existing: string, line: string, projectDir: string): { text: string; changed: boolean } {
  const ours = `${cdPrefix(projectDir)} `;
  const lines = existing === "" ? [] : existing.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let placed = false;
  for (const l of lines) {
    if (runsOurBackup(l, ours)) {
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
    new UsageError(
      `invalid cron expression '${expr}': ${reason}`,
      `use 5 fields (minute hour day-of-month month day-of-week), e.g. '${DEFAULT_BACKUP_CRON}' for 02:00 daily`,
    );
  if (/[\r\n]/.test(expr)) throw bad("it must be a single line");
  const trimmed = expr.trim();
  if (trimmed === "") throw bad("it is empty");
  if (trimmed.startsWith("@")) {
    const five = MACROS[trimmed];
    if (!five) throw bad(`unsupported macro ${trimmed} (use one of ${Object.keys(MACROS).join(", ")})`);
    return five;
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    const why = parts.length === 6 ? ": crontab has no seconds field" : "";
    throw bad(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}${why}`);
  }
  parts.forEach((p, i) => {
    const f = FIELDS[i]!;
    for (const item of p.split(",")) {
      if (!f.item.test(item))
        throw bad(`${f.name} field '${p}' is not valid crontab syntax (numbers${i >= 3 ? ", 3-letter names" : ""}, *, -, / and , only)`);
    }
  });
  const five = parts.join(" ");
  const probe = parse(five, expr, new Date());
  if (!probe.hasNext()) throw bad("it never fires");
  return five;
}

function parse(five: string, original: string, from: Date) {
  try {
    // No tz: local time, like the cron daemon.
    return CronExpressionParser.parse(five, { currentDate: from });
  } catch (e) {
    throw new UsageError(
      `invalid cron expression '${original}': ${(e as Error).message}`,
      `use 5 fields (minute hour day-of-month month day-of-week), e.g. '${DEFAULT_BACKUP_CRON}' for 02:00 daily`,
    );
  }
}

const SH_SAFE = /^[A-Za-z0-9_./-]+$/;

/** `cd <dir> &&`, the dir single-quoted for sh if needed and `%` escaped for crontab. */
function cdPrefix(projectDir: string): string {
  if (/[\r\n]/.test(projectDir))
    throw new UsageError(
      `the project directory cannot go on a crontab line: ${JSON.stringify(projectDir)}`,
      "move the project to a path without line breaks",
    );
  const quoted = SH_SAFE.test(projectDir) ? projectDir : `'${projectDir.replace(/'/g, `'\\''`)}'`;
  // In a crontab command an unescaped % ends the command (the rest becomes stdin).
  return `cd ${quoted.replace(/%/g, "\\%")} &&`;
}

function runsOurBackup(line: string, ours: string): boolean {
  if (/^\s*#/.test(line)) return false; // a comment, maybe a line the operator disabled: keep it
  const at = line.indexOf(ours);
  if (at < 0 || (at > 0 && !/\s/.test(line[at - 1]!))) return false;
  return line.includes(" scripts/backup.mts", at);
}

function notInstalled(status: number, stderr: string): void {
  if (status === 127 || /crontab: (command )?not found/i.test(stderr)) {
    throw new PreconditionError("crontab is not installed, so the backup cannot be scheduled", "apt-get install cron");
  }
}

function crontabFailed(argv: readonly string[], status: number, stderr: string): CommandError {
  return new CommandError(formatCommand(argv), status, stderr, "check that this user may use cron (see /etc/cron.allow and /etc/cron.deny)");
}
