import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { backupCronCommand, backupCronLine, DEFAULT_BACKUP_CRON, mergeCrontab } from "../../../lib/backup/schedule.ts";
import { underCronEnvironment } from "../../../lib/commands/crontab.ts";
import { ExitCode, UsageError } from "../../../lib/core/errors.ts";
import { readCrontab, unescapeCrontab, writeCrontab } from "../../../lib/infra/crontab.ts";
import { expectError } from "../helpers.ts";

const DIR = "/srv/claw";
const LINE = `0 2 * * * cd ${DIR} && npx zx scripts/backup.mts >> logs/backup.log 2>&1`;

const usage = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

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

test("the cron line pins the PATH it is given, % escaped for crontab", () => {
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
