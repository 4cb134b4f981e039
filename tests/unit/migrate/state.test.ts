import assert from "node:assert/strict";
import { test } from "node:test";
import { describeState, drift, type MigrationInfo, migrationState, type RevisionInfo } from "../../../lib/migrate/state.ts";

const rev = (revision: string, down: string[] = [], sha256 = `sha-${revision}`): RevisionInfo => ({
  revision,
  down,
  file: `${revision}_file.py`,
  sha256,
  doc: `doc of ${revision}`,
});

/** Three revisions in a line, 0001 → 0002 → 0003; the database at `current`. */
const info = (o: Partial<MigrationInfo> = {}): MigrationInfo => ({
  heads: ["0003"],
  current: ["0003"],
  revisions: [rev("0001"), rev("0002", ["0001"]), rev("0003", ["0002"])],
  pending: [],
  recorded: {},
  ...o,
});

test("a database at the image's only head is at-head", () => {
  assert.deepEqual(migrationState(info()), { kind: "at-head", head: "0003" });
});

test("a database behind the head is pending, with its current revision and the pending ones in order", () => {
  assert.deepEqual(migrationState(info({ current: ["0001"], pending: ["0002", "0003"] })), {
    kind: "pending",
    head: "0003",
    current: "0001",
    pending: ["0002", "0003"],
  });
});

test("an empty database (no current revision) is pending from current null", () => {
  assert.deepEqual(migrationState(info({ current: [], pending: ["0001", "0002", "0003"] })), {
    kind: "pending",
    head: "0003",
    current: null,
    pending: ["0001", "0002", "0003"],
  });
});

test("a database at a revision the image does not know is ahead, naming only the unknown revisions", () => {
  assert.deepEqual(migrationState(info({ current: ["0004"] })), { kind: "ahead", unknown: ["0004"] });
  assert.deepEqual(migrationState(info({ current: ["0003", "9abc"], pending: [] })), { kind: "ahead", unknown: ["9abc"] });
});

test("ahead wins over pending: an unknown current revision is never upgraded from", () => {
  assert.deepEqual(migrationState(info({ current: ["0004"], pending: ["0001"] })).kind, "ahead");
});

test("more than one head is reported first, before ahead or pending", () => {
  const s = migrationState(info({ heads: ["0003", "0003b"], current: ["zzzz"], pending: ["0002"] }));
  assert.deepEqual(s, { kind: "multiple-heads", heads: ["0003", "0003b"] });
});

test("an image with no head has no revisions", () => {
  assert.deepEqual(migrationState(info({ heads: [], current: [], revisions: [], pending: [] })), { kind: "no-revisions" });
});

test("migrationState copies the driver's arrays: changing the state leaves the info alone", () => {
  const i = info({ current: ["0001"], pending: ["0002", "0003"] });
  const s = migrationState(i);
  assert.ok(s.kind === "pending");
  s.pending.push("x");
  assert.deepEqual(i.pending, ["0002", "0003"]);
});

test("drift lists only recorded revisions whose file sha256 differs now", () => {
  const i = info({
    revisions: [rev("0001", [], "aaa"), rev("0002", ["0001"], "bbb-now"), rev("0003", ["0002"], "ccc")],
    // 0001 unchanged, 0002 changed, 0003 never recorded (applied before claw-ops), 0000 recorded but gone from the image.
    recorded: { "0001": "aaa", "0002": "bbb-then", "0000": "zzz" },
  });
  assert.deepEqual(drift(i), [{ revision: "0002", file: "0002_file.py", appliedSha256: "bbb-then", nowSha256: "bbb-now" }]);
});

test("no recorded hashes is no drift", () => {
  assert.deepEqual(drift(info()), []);
});

test("describeState gives one line per state", () => {
  assert.equal(describeState({ kind: "at-head", head: "0003" }), "the database is at head (0003)");
  assert.equal(
    describeState({ kind: "pending", head: "0003", current: "0001", pending: ["0002", "0003"] }),
    "2 revisions pending: 0001 → 0003 (0002, 0003)",
  );
  assert.equal(
    describeState({ kind: "pending", head: "0001", current: null, pending: ["0001"] }),
    "1 revision pending: empty database → 0001 (0001)",
  );
  assert.equal(
    describeState({ kind: "ahead", unknown: ["0004", "0005"] }),
    "the database is ahead of this image: it is at 0004, 0005, which the image does not know",
  );
  assert.equal(describeState({ kind: "multiple-heads", heads: ["a1", "b2"] }), "the image has 2 Alembic heads (a1, b2): merge the heads");
  assert.equal(describeState({ kind: "no-revisions" }), "the image has no Alembic revisions");
});
