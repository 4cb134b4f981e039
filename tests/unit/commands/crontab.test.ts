import assert from "node:assert/strict";
import { test } from "node:test";
import { crontabInstall, crontabList } from "../../../lib/commands/crontab.ts";

test("the crontab is read with -l and replaced from stdin with -", () => {
  assert.deepEqual(crontabList(), ["crontab", "-l"]);
  assert.deepEqual(crontabInstall(), ["crontab", "-"]);
});
