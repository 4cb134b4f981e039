import assert from "node:assert/strict";
import { test } from "node:test";
import { scriptArgv } from "../../../lib/cli/run.ts";

test("script arguments are found both under zx and under plain node", () => {
  assert.deepEqual(scriptArgv("backup.mts", ["/usr/bin/node", "/x/node_modules/zx/build/cli.js", "scripts/backup.mts", "--list"]), ["--list"]);
  assert.deepEqual(scriptArgv("backup.mts", ["/usr/bin/node", "/srv/claw/scripts/backup.mts", "--db-only"]), ["--db-only"]);
});
