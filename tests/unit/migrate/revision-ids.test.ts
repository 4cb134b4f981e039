import assert from "node:assert/strict";
import { test } from "node:test";
import { PreconditionError } from "../../../lib/core/errors.ts";
import { badNames, REVISION_ID } from "../../../lib/core/names.ts";
import { refuseBadRevisionIds } from "../../../lib/migrate/engine.ts";
import type { MigrationInfo } from "../../../lib/migrate/state.ts";

const info = (o: Partial<MigrationInfo> = {}): MigrationInfo => ({
  heads: ["0002"],
  current: ["0001"],
  revisions: [
    { revision: "0001", down: [], file: "versions/0001_init.py", sha256: "a", doc: "init" },
    { revision: "0002", down: ["0001"], file: "versions/0002_users.py", sha256: "b", doc: "users" },
  ],
  pending: ["0002"],
  recorded: { "0001": "a" },
  ...o,
});

test("hardening row 2: a revision id from the image with '/' or '..' is refused before it reaches a path, an argv or SQL (exit 3)", () => {
  assert.doesNotThrow(() => refuseBadRevisionIds(info()));
  const probe = "../../../../tmp/claw_probe";
  const forged = info({
    heads: [probe],
    pending: [probe],
    revisions: [...info().revisions, { revision: probe, down: ["0002"], file: "versions/x.py", sha256: "c", doc: "" }],
  });
  assert.throws(
    () => refuseBadRevisionIds(forged),
    (e: unknown) => e instanceof PreconditionError && e.exitCode === 3 && e.message.includes(JSON.stringify(probe)),
  );
  // From the database's alembic_version, or as a down revision, the same.
  assert.throws(() => refuseBadRevisionIds(info({ current: ["0001; DROP TABLE users"] })), PreconditionError);
  assert.throws(
    () => refuseBadRevisionIds(info({ revisions: [{ revision: "0003", down: ["a/b"], file: "f", sha256: "d", doc: "" }] })),
    PreconditionError,
  );
});

test("one rule for revision ids: letters, digits and _, at most 64; the CLI's --rollback uses the same", () => {
  assert.deepEqual(badNames(REVISION_ID, ["0001", "ae1027a6acf", "0002_users", "x".repeat(64)]), []);
  assert.deepEqual(badNames(REVISION_ID, ["", "..", "a/b", "a.b", "a-b", "x".repeat(65), "a\nb"]), [
    "",
    "..",
    "a/b",
    "a.b",
    "a-b",
    "x".repeat(65),
    "a\nb",
  ]);
});
