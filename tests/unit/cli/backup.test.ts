import assert from "node:assert/strict";
import { test } from "node:test";
import { backupCommand } from "../../../lib/cli/backup.ts";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { backupSpec } from "../../../lib/cli/specs.ts";
import { ExitCode, UsageError } from "../../../lib/core/errors.ts";

const cmd = (...argv: string[]) => backupCommand(parseFlags(backupSpec, argv));

test("a plain backup.mts run is a backup of every component; the guide's flags narrow it", () => {
  assert.deepEqual(cmd(), { mode: "backup", components: ["postgres", "redis", "milvus", "uploads", "config"], dryRun: false });
  assert.deepEqual(cmd("--db-only"), { mode: "backup", components: ["postgres"], dryRun: false });
  assert.deepEqual(cmd("--only", "redis,config", "--dry-run"), { mode: "backup", components: ["redis", "config"], dryRun: true });
});

test("each mode becomes its own typed command", () => {
  assert.deepEqual(cmd("--list"), { mode: "list" });
  assert.deepEqual(cmd("--prune"), { mode: "prune" });
  assert.deepEqual(cmd("--install-cron", "30 3 * * *"), { mode: "install-cron", expr: "30 3 * * *" });
  assert.deepEqual(cmd("--verify", "backups/daily/20260101-020000", "--identity", "k.txt"), {
    mode: "verify",
    dir: "backups/daily/20260101-020000",
    identity: "k.txt",
  });
  assert.deepEqual(cmd("--restore", "backups/daily/x", "-y", "--dry-run"), {
    mode: "restore",
    dir: "backups/daily/x",
    identity: undefined,
    dryRun: true,
    yes: true,
    allowPlaintext: false,
  });
});

test("two modes at once, or an argument a mode does not take, is a usage error (exit 2)", () => {
  for (const argv of [["--list", "--prune"], ["--restore", "x", "--verify"], ["--list", "extra"], ["stray"]]) {
    assert.throws(
      () => cmd(...argv),
      (e: unknown) => e instanceof UsageError && e.exitCode === ExitCode.usage,
      argv.join(" "),
    );
  }
});

test("conflicting or empty selections are usage errors, never a silent choice", () => {
  const usage = (argv: string[], re: RegExp) =>
    assert.throws(
      () => cmd(...argv),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      argv.join(" "),
    );
  usage(["--only", "uploads", "--db-only"], /--only and --db-only cannot be combined/);
  usage(["--only", "uploads", "--no-upload"], /nothing to back up/);
  usage(["--restore", "backups/daily/x", "--db-only"], /--db-only applies to a backup run, not to --restore/);
  usage(["--list", "--only", "redis"], /--only applies to a backup run/);
  assert.deepEqual(cmd("--only", "uploads,config", "--no-upload"), { mode: "backup", components: ["config"], dryRun: false });
});
