process.env.TZ = "UTC"; // nextRuns works in local time, like the cron daemon

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  backupCronCommand,
  backupCronLine,
  DEFAULT_BACKUP_CRON,
  mergeCrontab,
  nextRuns,
  pinnedPath,
  readCrontab,
  unescapeCrontab,
  validateCron,
  writeCrontab,
} from "../../../lib/backup/schedule.ts";
import { underCronEnvironment } from "../../../lib/commands/crontab.ts";
import { ExitCode, PreconditionError, UsageError } from "../../../lib/core/errors.ts";
import { expectError } from "../helpers.ts";

const FROM = new Date("2026-01-01T00:00:00Z"); // a Thursday
const DIR = "/srv/claw";
const LINE = `0 2 * * * cd ${DIR} && npx zx scripts/backup.mts >> logs/backup.log 2>&1`;

const usage = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

test("crontab schedules are accepted: 5 fields with numbers, names, steps, lists and ranges, and the macros", () => {
  for (const expr of [
    DEFAULT_BACKUP_CRON,
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
  assert.deepEqual(iso(nextRuns(DEFAULT_BACKUP_CRON, FROM)), ["2026-01-01T02:00:00.000Z", "2026-01-02T02:00:00.000Z", "2026-01-03T02:00:00.000Z"]);
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
  assert.deepEqual(iso(nextRuns(DEFAULT_BACKUP_CRON, new Date("2026-01-01T02:00:00Z"), 1)), ["2026-01-02T02:00:00.000Z"]);
  assert.deepEqual(iso(nextRuns("0 2 1 * mon", FROM)), ["2026-01-01T02:00:00.000Z", "2026-01-05T02:00:00.000Z", "2026-01-12T02:00:00.000Z"]);
});

test("nextRuns refuses an invalid expression like validateCron", () => {
  usage(() => nextRuns("0 0 2 * * *", FROM));
});

test("the cron line cds into the project and appends to logs/backup.log", () => {
  assert.equal(backupCronLine(DEFAULT_BACKUP_CRON, DIR), LINE);
  assert.equal(
    backupCronLine("  30   3 * * 0 ", "/opt/claw_ops-1.2"),
    "30 3 * * 0 cd /opt/claw_ops-1.2 && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
  );
  assert.equal(backupCronLine("@daily", DIR), `@daily cd ${DIR} && npx zx scripts/backup.mts >> logs/backup.log 2>&1`);
});

test("a project dir with shell or crontab special characters is quoted, and % escaped for crontab", () => {
  assert.match(backupCronLine(DEFAULT_BACKUP_CRON, "/srv/claw ops"), /^0 2 \* \* \* cd '\/srv\/claw ops' && npx zx/);
  assert.match(backupCronLine(DEFAULT_BACKUP_CRON, "/srv/o'neil"), / cd '\/srv\/o'\\''neil' && /);
  assert.match(backupCronLine(DEFAULT_BACKUP_CRON, "/srv/100%"), / cd '\/srv\/100\\%' && /);
  assert.match(usage(() => backupCronLine(DEFAULT_BACKUP_CRON, "/srv/a\nb")).message, /cannot go on a crontab line/);
  usage(() => backupCronLine("@reboot", DIR));
});

test("merging into an empty crontab adds the line; merging again changes nothing", () => {
  const first = mergeCrontab("", LINE, DIR);
  assert.deepEqual(first, { text: `${LINE}\n`, changed: true });
  assert.deepEqual(mergeCrontab(first.text, LINE, DIR), { text: first.text, changed: false });
});

test("merging keeps every other line and comment byte for byte and replaces our old line in place", () => {
  const existing = [
    "# m h  dom mon dow   command",
    "MAILTO=ops@example.com",
    "",
    "0 3 * * * cd /srv/claw && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
    "*/5 * * * *\t/usr/local/bin/healthcheck   --quiet  ",
    "0 4 * * * cd /srv/claw && npx zx scripts/backup.mts # a duplicate from a hand edit",
    "",
  ].join("\n");
  const merged = mergeCrontab(existing, LINE, DIR);
  assert.equal(merged.changed, true);
  assert.equal(
    merged.text,
    ["# m h  dom mon dow   command", "MAILTO=ops@example.com", "", LINE, "*/5 * * * *\t/usr/local/bin/healthcheck   --quiet  ", ""].join("\n"),
  );
  assert.deepEqual(mergeCrontab(merged.text, LINE, DIR), { text: merged.text, changed: false });
});

test("another project's backup line, and a commented-out one of ours, are kept", () => {
  const others = [
    "0 1 * * * cd /srv/claw-staging && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
    "0 1 * * * cd /srv/claw/sub && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
    "0 1 * * * cd '/srv/claw ops' && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
    "0 1 * * * cd /srv/claw && npx zx scripts/restore.mts",
    "# 0 3 * * * cd /srv/claw && npx zx scripts/backup.mts >> logs/backup.log 2>&1",
  ].join("\n");
  assert.deepEqual(mergeCrontab(others, LINE, DIR), { text: `${others}\n${LINE}\n`, changed: true });
});

test("a project dir with a space is matched in its quoted form only", () => {
  const dir = "/srv/claw ops";
  const line = backupCronLine("0 5 * * *", dir);
  const existing = `0 1 * * * cd '/srv/claw ops' && npx zx scripts/backup.mts >> logs/backup.log 2>&1\n${LINE}\n`;
  assert.deepEqual(mergeCrontab(existing, line, dir), { text: `${line}\n${LINE}\n`, changed: true });
});

test("a crontab without a trailing newline gets one", () => {
  assert.deepEqual(mergeCrontab("MAILTO=root", LINE, DIR), { text: `MAILTO=root\n${LINE}\n`, changed: true });
  assert.deepEqual(mergeCrontab(LINE, LINE, DIR), { text: `${LINE}\n`, changed: true });
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

const hasCrontab = spawnSync("sh", ["-c", "command -v crontab"]).status === 0;

test("the real crontab round-trips a merged line and is restored afterwards", { skip: !hasCrontab && "crontab is not installed" }, async () => {
  const hadOne = spawnSync("crontab", ["-l"]).status === 0;
  const saved = await readCrontab();
  if (!hadOne) assert.equal(saved, "", "no crontab reads as empty");
  try {
    const dir = "/nonexistent/claw ops 100%"; // never fires usefully: the cd fails
    const line = backupCronLine("0 0 1 1 *", dir);
    const first = mergeCrontab(saved, line, dir);
    await writeCrontab(first.text);
    const back = await readCrontab();
    assert.ok(back.endsWith(`${line}\n`), back);
    const again = mergeCrontab(back, line, dir);
    assert.equal(again.changed, false);
    assert.equal(again.text.split("\n").filter((l) => l.includes("scripts/backup.mts") && l.includes("claw ops")).length, 1);
  } finally {
    if (hadOne) await writeCrontab(saved);
    else spawnSync("crontab", ["-r"]);
  }
  assert.equal(await readCrontab(), saved);
});

test("the cron line pins the PATH node, npx and docker were found on, absolute entries only, system directories after", () => {
  assert.equal(
    pinnedPath(["/root/.nvm/versions/node/v20/bin", undefined, "relative/bin", "/usr/bin"]),
    "/root/.nvm/versions/node/v20/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin",
  );
  assert.equal(
    backupCronLine("0 2 * * *", DIR, "/opt/node/bin:/usr/bin"),
    `0 2 * * * cd ${DIR} && PATH=/opt/node/bin:/usr/bin npx zx scripts/backup.mts >> logs/backup.log 2>&1`,
  );
  assert.equal(backupCronCommand(DIR, "/a b%/bin", ["--dry-run"]), `cd ${DIR} && PATH='/a b\\%/bin' npx zx scripts/backup.mts --dry-run`);
  assert.equal(unescapeCrontab("PATH='/a b\\%/bin'"), "PATH='/a b%/bin'");
});

test("a project apart from the claw-ops checkout runs from the checkout, names the project, logs into it, and is matched by that name", () => {
  const line = backupCronLine("0 2 * * *", "/srv/site", "/usr/bin", "/opt/claw-ops");
  assert.equal(
    line,
    "0 2 * * * cd /opt/claw-ops && CLAW_OPS_PROJECT_DIR=/srv/site PATH=/usr/bin npx zx scripts/backup.mts >> /srv/site/logs/backup.log 2>&1",
  );
  const other =
    "0 1 * * * cd /opt/claw-ops && CLAW_OPS_PROJECT_DIR=/srv/other PATH=/usr/bin npx zx scripts/backup.mts >> /srv/other/logs/backup.log 2>&1";
  const old = "0 4 * * * cd /opt/claw-ops && CLAW_OPS_PROJECT_DIR=/srv/site npx zx scripts/backup.mts >> /srv/site/logs/backup.log 2>&1";
  assert.deepEqual(mergeCrontab(`${other}\n${old}\n`, line, "/srv/site", "/opt/claw-ops"), { text: `${other}\n${line}\n`, changed: true });
});

test("the cron proof runs the command with an empty environment and cron's PATH, through /bin/sh", () => {
  assert.deepEqual(underCronEnvironment("cd /srv && npx zx scripts/backup.mts --dry-run", "/root", "root"), [
    "env",
    "-i",
    "HOME=/root",
    "LOGNAME=root",
    "SHELL=/bin/sh",
    "PATH=/usr/bin:/bin",
    "/bin/sh",
    "-c",
    "cd /srv && npx zx scripts/backup.mts --dry-run",
  ]);
});
