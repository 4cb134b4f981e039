import assert from "node:assert/strict";
import { test } from "node:test";
import { orphans } from "../../../lib/backup/kept.ts";

test("kept data is an orphan only when no snapshot directory bears its tag; anything not shaped like a tag is never touched", () => {
  const ids = new Set(["20261201-120000", "not-a-backup"]);
  assert.deepEqual(orphans(["20261201-120000", "20261130-100000", "junk", "20261201-12000"], ids), ["20261130-100000"]);
  assert.deepEqual(orphans([], ids), []);
});
