import assert from "node:assert/strict";
import { test } from "node:test";
import { applySeed, recordSeedSql } from "../../../lib/commands/postgres.ts";
import { typeToConfirm } from "../../../lib/core/prompts.ts";
import { parseRecorded, planSeeds } from "../../../lib/migrate/seed.ts";

test("planSeeds applies new seeds in name order, skips unchanged ones and reports edited ones instead of running them again", () => {
  const files = [
    { name: "02_tags.sql", sha256: "b2" },
    { name: "01_admin.sql", sha256: "a1" },
    { name: "03_demo.sql", sha256: "c3-new" },
  ];
  const recorded = new Map([
    ["01_admin.sql", "a1"],
    ["03_demo.sql", "c3-old"],
  ]);
  assert.deepEqual(planSeeds(files, recorded), {
    apply: [{ name: "02_tags.sql", sha256: "b2" }],
    unchanged: ["01_admin.sql"],
    edited: [{ name: "03_demo.sql", applied: "c3-old", now: "c3-new" }],
  });
});

test("parseRecorded reads psql's name<TAB>sha256 lines and ignores blanks", () => {
  assert.deepEqual(
    [...parseRecorded("01_admin.sql\ta1\n\n02_tags.sql\tb2\n")],
    [
      ["01_admin.sql", "a1"],
      ["02_tags.sql", "b2"],
    ],
  );
});

test("a seed and its record run in one psql transaction: the file from stdin, then the insert", () => {
  assert.deepEqual(applySeed("claw", "claw_ai", recordSeedSql("01_o'brien.sql", "ab")), [
    "psql",
    "-U",
    "claw",
    "-d",
    "claw_ai",
    "-v",
    "ON_ERROR_STOP=1",
    "--single-transaction",
    "-q",
    "-f",
    "-",
    "-c",
    "INSERT INTO claw_ops_seeds (name, sha256) VALUES ('01_o''brien.sql', 'ab')",
  ]);
});

test("typeToConfirm refuses without -y (exit 2), whatever the TTY", async () => {
  await assert.rejects(typeToConfirm("Drop?", "claw_ai", { yes: false, what: "drop database claw_ai" }), (e: Error & { exitCode?: number }) => {
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /refusing to drop database claw_ai without -y/);
    return true;
  });
});
