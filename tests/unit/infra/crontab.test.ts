process.env.TZ = "UTC"; // nextRuns works in local time, like the cron daemon

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ExitCode, PreconditionError, UsageError } from "../../../lib/core/errors.ts";
import { nextRuns, pinnedPath, readCrontab, replaceCrontabLines, validateCron, writeCrontab } from "../../../lib/infra/crontab.ts";
import { expectError } from "../helpers.ts";

const FROM = new Date("2026-01-01T00:00:00Z"); // a Thursday
const DAILY_2AM = "0 2 * * *"; // the backup's default schedule

const usage = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

test("crontab schedules are accepted: 5 fields with numbers, names, steps, lists and ranges, and the macros", () => {
  for (const expr of [
    DAILY_2AM,
    "*/15 * * * *",
    "30 3 1,15 * *",
    "0 2 * * mon-fri",
    "0 2 * JAN-mar sun",
    "0 */6 * * 0-7",
    "0 2 * * 1-5/2",
    "  0  2 * * *  ",
    "@daily",
    "@midnight",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@hourly",
  ]) {
    assert.doesNotThrow(() => validateCron(expr), expr);
  }
});

test("a 6-field expression with seconds is refused with exit code 2, saying why", () => {
  const e = usage(() => validateCron("0 0 2 * * *"));
  assert.equal(
    e.message,
    "invalid cron expression '0 0 2 * * *': expected 5 fields (minute hour day-of-month month day-of-week), got 6: crontab has no seconds field",
  );
  assert.match(e.hint ?? "", /0 2 \* \* \*/);
});

test("what crontab would refuse or misread is refused: @reboot, other macros, Quartz syntax, bad ranges", () => {
  const cases: [string, RegExp][] = [
    ["@reboot", /unsupported macro @reboot/],
    ["@minutely", /unsupported macro/],
    ["@DAILY", /unsupported macro/],
    ["0 2 * *", /got 4/],
    ["", /it is empty/],
    ["0 2 L * *", /day-of-month field 'L'/],
    ["0 2 ? * *", /day-of-month field '\?'/],
    ["H 2 * * *", /minute field 'H'/],
    ["0 2 * * 5L", /day-of-week field '5L'/],
    ["0 2 * * 1#2", /day-of-week field '1#2'/],
    ["5/15 * * * *", /minute field '5\/15'/],
    ["0 2 * * funday", /day-of-week field/],
    ["60 2 * * *", /expected range 0-59/],
    ["0 2 0 * *", /expected range 1-31/],
    ["*/0 * * * *", /every 0/],
    ["0 2 31 2 *", /invalid cron expression '0 2 31 2 \*'/],
    ["0 2 * * *\n* * * * * rm -rf ~", /single line/],
  ];
  for (const [expr, reason] of cases) assert.match(usage(() => validateCron(expr)).message, reason, JSON.stringify(expr));
});

test("nextRuns lists the next three runs after a fixed time", () => {
  assert.deepEqual(iso(nextRuns(DAILY_2AM, FROM)), ["2026-01-01T02:00:00.000Z", "2026-01-02T02:00:00.000Z", "2026-01-03T02:00:00.000Z"]);
  assert.deepEqual(iso(nextRuns("30 3 * * mon-fri", FROM, 4)), [
    "2026-01-01T03:30:00.000Z",
    "2026-01-02T03:30:00.000Z",
    "2026-01-05T03:30:00.000Z",
    "2026-01-06T03:30:00.000Z",
  ]);
  assert.deepEqual(iso(nextRuns("@weekly", FROM, 2)), ["2026-01-04T00:00:00.000Z", "2026-01-11T00:00:00.000Z"]);
  assert.deepEqual(iso(nextRuns("@midnight", FROM, 1)), ["2026-01-02T00:00:00.000Z"]);
});

test("nextRuns counts strictly after `from`, and day-of-month or day-of-week matches as cron does", () => {
  assert.deepEqual(iso(nextRuns(DAILY_2AM, new Date("2026-01-01T02:00:00Z"), 1)), ["2026-01-02T02:00:00.000Z"]);
  assert.deepEqual(iso(nextRuns("0 2 1 * mon", FROM)), ["2026-01-01T02:00:00.000Z", "2026-01-05T02:00:00.000Z", "2026-01-12T02:00:00.000Z"]);
});

test("nextRuns refuses an invalid expression like validateCron", () => {
  usage(() => nextRuns("0 0 2 * * *", FROM));
});

test("without crontab installed, reading it is a precondition failure with the install command", async () => {
  const path = process.env.PATH;
  process.env.PATH = mkdtempSync(join(tmpdir(), "claw-nocron-"));
  try {
    for (const op of [() => readCrontab(), () => writeCrontab("")]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof PreconditionError, String(e));
        assert.equal(e.exitCode, ExitCode.precondition);
        assert.equal(e.hint, "apt-get install cron");
        return true;
      });
    }
  } finally {
    process.env.PATH = path;
  }
});

test("the pinned PATH: the directories node, npx and docker were found on, absolute entries only, system directories after", () => {
  assert.equal(
    pinnedPath(["/root/.nvm/versions/node/v20/bin", undefined, "relative/bin", "/usr/bin"]),
    "/root/.nvm/versions/node/v20/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin",
  );
});

test("replacing our lines: the first keeps its place, later ones go, every other line stays; absent, the line is appended", () => {
  const ours = (l: string) => l.endsWith("# ours");
  assert.deepEqual(replaceCrontabLines("a\n1 # ours\nb\n2 # ours\n", "new # ours", ours), { text: "a\nnew # ours\nb\n", changed: true });
  assert.deepEqual(replaceCrontabLines("a\nnew # ours\n", "new # ours", ours), { text: "a\nnew # ours\n", changed: false });
  assert.deepEqual(replaceCrontabLines("a", "new # ours", ours), { text: "a\nnew # ours\n", changed: true });
  assert.deepEqual(replaceCrontabLines("", "new # ours", ours), { text: "new # ours\n", changed: true });
});
