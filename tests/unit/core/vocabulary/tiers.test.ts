import assert from "node:assert/strict";
import { test } from "node:test";
import { isSnapshotTier, isTier, SNAPSHOT_TIERS, TIERS, UNDO_TIERS } from "../../../../lib/core/vocabulary/tiers.ts";

test("regular backups go in daily, weekly and monthly; snapshots in one tier per operation that takes them", () => {
  assert.deepEqual(TIERS, ["daily", "weekly", "monthly"]);
  assert.deepEqual(SNAPSHOT_TIERS, ["pre-rollback", "pre-restore", "pre-deploy", "pre-migrate"]);
});

test("the undo tiers are the snapshot tiers a restore takes", () => {
  assert.deepEqual(UNDO_TIERS, ["pre-rollback", "pre-restore"]);
  for (const t of UNDO_TIERS) assert.ok(isSnapshotTier(t), t);
});

test("a tier name is either a regular tier or a snapshot tier, never both", () => {
  for (const t of TIERS) assert.ok(isTier(t) && !isSnapshotTier(t), t);
  for (const t of SNAPSHOT_TIERS) assert.ok(isSnapshotTier(t) && !isTier(t), t);
  for (const t of ["", "Daily", "pre-", "undo.json", ".tmp-x"]) assert.ok(!isTier(t) && !isSnapshotTier(t), JSON.stringify(t));
});
