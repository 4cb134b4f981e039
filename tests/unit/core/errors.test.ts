import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { helpText } from "../../../lib/cli/flags.ts";
import { backupSpec, deploySpec, migrateSpec, rollbackSpec } from "../../../lib/cli/specs.ts";
import {
  ClawError,
  CleanupFailedError,
  CommandError,
  EXIT_CODES,
  ExitCode,
  exitCodesHelp,
  InvalidBackupError,
  joinErrors,
  PreconditionError,
  RestoreMismatchError,
  ServiceUnhealthyError,
} from "../../../lib/core/errors.ts";
import { setLang } from "../../../lib/core/i18n/index.ts";

const README = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8");
const README_ZH = readFileSync(join(import.meta.dirname, "../../../README.zh-CN.md"), "utf8");

/** The rows of a README's exit-code table: | code | meaning |. */
function readmeExitCodes(text = README, heading = "### Exit codes"): Array<{ code: number; meaning: string }> {
  const section = text.slice(text.indexOf(heading));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("|")));
  return [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2]! }));
}

test("the README's exit-code table is exactly the table in errors.ts", () => {
  assert.deepEqual(
    readmeExitCodes(),
    EXIT_CODES.map((e) => ({ code: e.code, meaning: e.meaning })),
  );
});

test("README.zh-CN.md's exit-code table is the Chinese catalogue's, code for code", () => {
  setLang("zh");
  try {
    assert.deepEqual(
      readmeExitCodes(README_ZH, "### 退出码"),
      EXIT_CODES.map((e) => ({ code: e.code, meaning: e.meaning })),
    );
  } finally {
    setLang("en");
  }
});

test("every script's --help ends with the exit codes from the same table", () => {
  assert.equal(
    exitCodesHelp(),
    "Exit codes: 0 ok, 1 failed, 2 usage, 3 precondition (nothing touched), 4 lock held, 5 invalid backup, 6 migrations pending, 7 database ahead, 130 cancelled.",
  );
  for (const spec of [backupSpec, rollbackSpec, deploySpec, migrateSpec]) assert.ok(helpText(spec).endsWith(exitCodesHelp()), spec.name);
});

test("codes are unique and ExitCode names each one", () => {
  assert.equal(new Set(EXIT_CODES.map((e) => e.code)).size, EXIT_CODES.length);
  assert.deepEqual(ExitCode, {
    ok: 0,
    failed: 1,
    usage: 2,
    precondition: 3,
    lockHeld: 4,
    invalidBackup: 5,
    migrationsPending: 6,
    databaseAhead: 7,
    cancelled: 130,
  });
});

test("each error class carries its code: 3 only for refusals before anything is touched", () => {
  assert.equal(new PreconditionError("x").exitCode, 3);
  assert.equal(new InvalidBackupError("x").exitCode, 5);
  // A service that the run itself started and that does not come up, data that does not
  // match after a restore: the run touched things, so they are failures, never 3.
  assert.equal(new ServiceUnhealthyError("x").exitCode, 1);
  assert.equal(new RestoreMismatchError("redis", "restored 3 keys").exitCode, 1);
  assert.match(new RestoreMismatchError("redis", "restored 3 keys").message, /^redis: restored 3 keys$/);
});

test("a command error says its exit status, or the signal that killed it", () => {
  assert.match(new CommandError("pg_dump", 1, "boom").message, /^command failed \(exit 1\): pg_dump — boom$/);
  assert.match(
    new CommandError("pg_dump", null, "", undefined, "SIGTERM (its 30 s time limit ran out)").message,
    /killed by SIGTERM \(its 30 s time limit ran out\)/,
  );
});

test("joinErrors returns the main error itself when no cleanup failed", () => {
  const e = new ClawError("x");
  assert.equal(joinErrors(e, []), e);
  assert.ok(joinErrors(e, [new Error("y")]) instanceof CleanupFailedError);
});

test("past a restore's snapshot a precondition error becomes a failure (exit 1), keeping message and hint", async () => {
  const { touched } = await import("../../../lib/restore/restore-outcome.ts");
  const e = touched(new PreconditionError("service etcd has no container", "start it"));
  assert.ok(e instanceof ClawError);
  assert.equal(e.exitCode, ExitCode.failed);
  assert.equal(e.message, "service etcd has no container");
  assert.equal(e.hint, "start it");
  const other = new InvalidBackupError("x");
  assert.equal(touched(other), other);
});
