import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { rollbackCommand } from "../../../lib/cli/rollback.ts";
import { rollbackSpec } from "../../../lib/cli/specs.ts";
import { UsageError } from "../../../lib/core/errors.ts";

const cmd = (...argv: string[]) => rollbackCommand(parseFlags(rollbackSpec, argv));

test("the guide's rollback invocations become typed commands: index, directory, or a prompt", () => {
  assert.deepEqual(cmd("1", "-y"), { mode: "rollback", target: { index: "1" }, components: ["postgres", "redis", "milvus", "uploads", "config"], identity: undefined, dryRun: false, yes: true });
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
