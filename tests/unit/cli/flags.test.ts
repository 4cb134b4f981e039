import assert from "node:assert/strict";
import { test } from "node:test";
import { helpText, parseFlags } from "../../../lib/cli/flags.ts";
import { backupSpec, deploySpec, migrateSpec, rollbackSpec } from "../../../lib/cli/specs.ts";
import { ExitCode, UsageError } from "../../../lib/core/errors.ts";

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UsageError);
    assert.equal(e.exitCode, ExitCode.usage);
    assert.ok(!e.message.includes("\n"), "one line");
    return e;
  }
  assert.fail("expected a usage error");
}

test("the guide's rollback invocations parse", () => {
  assert.deepEqual(parseFlags(rollbackSpec, ["1", "-y"]).positionals, ["1"]);
  const p = parseFlags(rollbackSpec, ["1", "--skip-redis", "--skip-milvus", "--skip-uploads"]);
  assert.equal(p.flags["skip-redis"], true);
  assert.equal(p.flags["skip-db"], undefined);
  assert.equal(parseFlags(rollbackSpec, ["--backup", "./backups/daily/20240215-020000"]).flags.backup, "./backups/daily/20240215-020000");
  assert.equal(parseFlags(rollbackSpec, ["--list"]).flags.list, true);
});

test("the guide's backup and migrate invocations parse", () => {
  assert.equal(parseFlags(backupSpec, ["--restore", "backups/daily/20240215-020000"]).flags.restore, "backups/daily/20240215-020000");
  assert.equal(parseFlags(backupSpec, ["--db-only", "--no-upload"]).flags["db-only"], true);
  assert.equal(parseFlags(migrateSpec, ["--status"]).flags.status, true);
  assert.equal(parseFlags(deploySpec, ["--tag", "1.2.3", "-y"]).flags.tag, "1.2.3");
});

test("an unknown flag is a one-line usage error naming it", () => {
  assert.equal(usage(() => parseFlags(rollbackSpec, ["--skip-everything"])).message, "unknown flag --skip-everything");
});

test("a flag missing its value and a surplus argument are usage errors", () => {
  assert.match(usage(() => parseFlags(rollbackSpec, ["--backup"])).message, /--backup/);
  assert.match(usage(() => parseFlags(rollbackSpec, ["1", "2"])).message, /unexpected argument "2"/);
  assert.match(usage(() => parseFlags(deploySpec, ["extra", "more"])).message, /unexpected argument/);
});

test("help lists every flag of the guide", () => {
  const text = helpText(rollbackSpec);
  for (const f of [
    "--list",
    "--backup <dir>",
    "--skip-db",
    "--skip-redis",
    "--skip-milvus",
    "--skip-uploads",
    "-y, --yes",
    "--skip-config",
    "--dry-run",
  ]) {
    assert.ok(text.includes(f), f);
  }
  for (const f of ["--db-only", "--no-upload", "--restore <dir>", "--list", "--verify", "--install-cron", "--prune"])
    assert.ok(helpText(backupSpec).includes(f), f);
  assert.ok(helpText(migrateSpec).includes("--status"));
});
