import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InvalidBackupError, UsageError } from "../../../lib/core/errors.ts";
import { readUndo, UNDO_FILE, writeUndo } from "../../../lib/restore/undo.ts";
import { tmp } from "../helpers.ts";

test("the undo record names the snapshot of the last rollback or restore, relative to the project", () => {
  const root = tmp();
  mkdirSync(join(root, "backups"), { recursive: true });
  writeUndo(root, join(root, "backups/pre-rollback/20260102-100001"), "rollback", "20260101-020000", new Date("2026-01-02T10:00:01Z"));
  assert.deepEqual(readUndo(root), {
    snapshot: "backups/pre-rollback/20260102-100001",
    event: "rollback",
    backup: "20260101-020000",
    at: "2026-01-02T10:00:01.000Z",
  });
});

test("no record is a usage error; a record naming anything but a snapshot is refused", () => {
  const root = tmp();
  assert.throws(() => readUndo(root), UsageError);
  mkdirSync(join(root, "backups"), { recursive: true });
  writeFileSync(join(root, "backups", UNDO_FILE), JSON.stringify({ snapshot: "../../etc" }));
  assert.throws(() => readUndo(root), InvalidBackupError);
});
