import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { rollbackCommand } from "../../../lib/cli/rollback.ts";
import { rollbackSpec } from "../../../lib/cli/specs.ts";
import { UsageError } from "../../../lib/core/errors.ts";

const cmd = (...argv: string[]) => rollbackCommand(parseFlags(rollbackSpec, argv));

test("the guide's rollback invocations become typed commands: index, directory, or a prompt", () => {
  assert.deepEqual(cmd("1", "-y"), {
    mode: "rollback",
    target: { index: "1" },
    components: ["postgres", "redis", "milvus", "uploads", "config"],
    identity: undefined,
    dryRun: false,
    yes: true,
    allowPlaintext: false,
  });
  const byDir = cmd("--backup", "backups/pre-rollback/x", "--dry-run");
  assert.ok(byDir.mode === "rollback");
  assert.deepEqual(byDir.target, { dir: "backups/pre-rollback/x" });
  const prompt = cmd();
  assert.ok(prompt.mode === "rollback");
  assert.equal(prompt.target, undefined);
  assert.deepEqual(cmd("--list"), { mode: "list" });
});

test("the --skip-* flags leave their components out", () => {
  const c = cmd("1", "--skip-redis", "--skip-milvus", "--skip-uploads");
  assert.ok(c.mode === "rollback");
  assert.deepEqual(c.components, ["postgres", "config"]);
});

test("an index and --backup together is a usage error", () => {
  assert.throws(() => cmd("1", "--backup", "backups/daily/x"), UsageError);
});

// ---- moved here from tests/unit/store-rollback.test.ts ----
import { pickByIndex, rollbackComponents } from "../../../lib/cli/rollback.ts";
import { usageError } from "../helpers.ts";

test("a rollback restores every component unless skipped", () => {
  assert.deepEqual(rollbackComponents({}), ["postgres", "redis", "milvus", "uploads", "config"]);
  assert.deepEqual(rollbackComponents({ "skip-config": true, "skip-uploads": false }), ["postgres", "redis", "milvus", "uploads"]);
});

test("the guide's database example keeps postgres and config", () => {
  // npx zx scripts/rollback.mts 1 --skip-redis --skip-milvus --skip-uploads
  assert.deepEqual(rollbackComponents({ "skip-redis": true, "skip-milvus": true, "skip-uploads": true }), ["postgres", "config"]);
});

test("the guide's configuration-only example keeps config", () => {
  // npx zx scripts/rollback.mts 1 --skip-db --skip-redis --skip-milvus --skip-uploads
  assert.deepEqual(rollbackComponents({ "skip-db": true, "skip-redis": true, "skip-milvus": true, "skip-uploads": true }), ["config"]);
  assert.deepEqual(rollbackComponents({ "skip-db": true, "skip-redis": true, "skip-milvus": true, "skip-uploads": true, "skip-config": true }), []);
});

test("a backup index picks from the newest (1) down", () => {
  const rows = ["newest", "middle", "oldest"];
  assert.equal(pickByIndex(rows, "1"), "newest");
  assert.equal(pickByIndex(rows, "3"), "oldest");
  assert.equal(pickByIndex(rows, "02"), "middle");
});

test("a backup index out of range or not a whole number is a usage error naming the problem", () => {
  const rows = ["newest", "middle", "oldest"];
  for (const [given, message] of [
    ["0", "no backup with index 0 (there are 3)"],
    ["99", "no backup with index 99 (there are 3)"],
    ["x", 'backup index must be a number, got "x"'],
    ["1.5", 'backup index must be a number, got "1.5"'],
    ["-1", 'backup index must be a number, got "-1"'],
    ["", 'backup index must be a number, got ""'],
    [" 1", 'backup index must be a number, got " 1"'],
  ] as const) {
    const e = usageError(() => pickByIndex(rows, given));
    assert.equal(e.message, message, given);
    assert.equal(e.hint, "see the indexes with --list");
  }
  const none = usageError(() => pickByIndex([], "1"));
  assert.equal(none.message, "there are no backups yet");
  assert.equal(none.hint, "take one with backup.mts");
});

test("a rollback with all five --skip-* flags restores nothing: a usage error, not a do-nothing success", () => {
  assert.throws(() => cmd("1", "--skip-db", "--skip-redis", "--skip-milvus", "--skip-uploads", "--skip-config"), /nothing to roll back/);
});

test("--undo rolls back to the recorded snapshot and takes no index, --backup or --skip-*", () => {
  const c = cmd("--undo", "-y");
  assert.ok(c.mode === "rollback");
  assert.deepEqual(c.target, { undo: true });
  for (const argv of [
    ["--undo", "1"],
    ["--undo", "--backup", "backups/daily/x"],
    ["--undo", "--skip-db"],
  ])
    assert.throws(() => cmd(...argv), UsageError, argv.join(" "));
});

test("the finish command of a rollback names the same backup by path and the same components", async () => {
  const { finishCommand } = await import("../../../lib/cli/rollback.ts");
  assert.equal(
    finishCommand("/srv/claw", "/srv/claw/backups/daily/20260101-020000", ["postgres", "redis", "milvus", "uploads", "config"]),
    "npx zx scripts/rollback.mts --backup backups/daily/20260101-020000 -y",
  );
  assert.equal(
    finishCommand("/srv/claw", "/srv/claw/backups/daily/20260101-020000", ["postgres", "config"]),
    "npx zx scripts/rollback.mts --backup backups/daily/20260101-020000 --skip-redis --skip-milvus --skip-uploads -y",
  );
});
