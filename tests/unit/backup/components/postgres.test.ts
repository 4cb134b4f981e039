import assert from "node:assert/strict";
import { test } from "node:test";
import { compareCounts } from "../../../../lib/backup/components/postgres.ts";

test("count differences name the table, expected and actual; missing sides show as none", () => {
  assert.deepEqual(compareCounts({ "table:a": 1, "table:b": 2 }, { "table:a": 1, "table:b": 2 }), []);
  assert.deepEqual(compareCounts({ "table:a": 1, "table:b": 2 }, { "table:a": 3, "table:c": 0 }), [
    "a: expected 1, got 3",
    "b: expected 2, got none",
    "c: expected none, got 0",
  ]);
  assert.deepEqual(compareCounts({}, {}), []);
});
