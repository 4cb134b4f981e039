import assert from "node:assert/strict";
import { test } from "node:test";
import { ClawError, DatabaseAheadError, ExitCode, LockHeldError, PreconditionError } from "../../../lib/core/errors.ts";
import { failure, refuseState, restoreCommand } from "../../../lib/migrate/apply.ts";
import type { DriverFailure } from "../../../lib/migrate/engine.ts";
import { expectError } from "../helpers.ts";

const BACKUP = "backups/pre-migrate/20240215-020000";
const RESTORE = `npx zx scripts/rollback.mts --backup ${BACKUP} --skip-redis --skip-milvus --skip-uploads --skip-config -y`;

test("restoreCommand restores only the database from the pre-migrate backup, without a prompt", () => {
  assert.equal(restoreCommand(BACKUP), RESTORE);
});

test("refuseState: two heads is a precondition error (exit 3) whose hint is the alembic merge to run", () => {
  const e = expectError(PreconditionError, ExitCode.precondition, () => refuseState({ kind: "multiple-heads", heads: ["a1", "b2"] }));
  assert.equal(e.message, "the image has 2 Alembic heads (a1, b2): merge the heads");
  assert.equal(e.hint, 'alembic merge -m "merge heads" a1 b2, then build the image again');
});

test("refuseState: a database ahead of the image is DatabaseAheadError (exit 7), pointing at the image that made it", () => {
  const e = expectError(DatabaseAheadError, ExitCode.databaseAhead, () => refuseState({ kind: "ahead", unknown: ["0009"] }));
  assert.equal(e.exitCode, 7);
  assert.equal(e.message, "the database is ahead of this image: it is at 0009, which the image does not know");
  assert.equal(e.hint, "deploy the image that made that revision (deploy.mts --rollback-release goes back only in code, never in schema)");
});

test("refuseState: an image with no revisions is a precondition error (exit 3)", () => {
  const e = expectError(PreconditionError, ExitCode.precondition, () => refuseState({ kind: "no-revisions" }));
  assert.equal(e.message, "the image has no Alembic revisions");
  assert.equal(e.hint, "is alembic.ini in the backend image's working directory?");
});

test("refuseState lets pending and at-head through", () => {
  assert.doesNotThrow(() => refuseState({ kind: "pending", head: "0003", current: null, pending: ["0001", "0002", "0003"] }));
  assert.doesNotThrow(() => refuseState({ kind: "at-head", head: "0003" }));
});

test("failure: lock-held is LockHeldError (exit 4) naming the Postgres pid, its application and since when", () => {
  const r: DriverFailure = {
    ok: false,
    code: "lock-held",
    waitedS: 60,
    holder: [4242, "alembic", "10.0.0.5/32", "2024-02-15 02:00:00+00", "active", "ALTER TABLE t ..."],
  };
  const e = failure(r, BACKUP);
  assert.ok(e instanceof LockHeldError);
  assert.equal(e.exitCode, ExitCode.lockHeld);
  assert.equal(
    e.message,
    "another migration holds the database's migration lock (waited 60 s): Postgres pid 4242 (alembic), connected since 2024-02-15 02:00:00+00",
  );
  assert.equal(e.hint, "let it finish, or raise MIGRATE_LOCK_WAIT_S"); // nothing ran: no restore
});

test("failure: lock-held without an application name, or with no holder found, says what it knows", () => {
  const noApp = failure({ ok: false, code: "lock-held", waitedS: 1.4, holder: [77, "", null, "2024-02-15 02:00:00+00", "idle", ""] }, null);
  assert.equal(
    noApp.message,
    "another migration holds the database's migration lock (waited 1.4 s): Postgres pid 77, connected since 2024-02-15 02:00:00+00",
  );
  const none = failure({ ok: false, code: "lock-held", holder: null }, null);
  assert.ok(none instanceof LockHeldError);
  assert.equal(none.message, "another migration holds the database's migration lock (waited ? s)");
});

test("failure: lock-timeout names the revision, the attempts, what was applied, and the invalid indexes and restore in the hint", () => {
  const r: DriverFailure = {
    ok: false,
    code: "lock-timeout",
    revision: "0003",
    attempts: 4,
    applied: ["0002"],
    current: ["0002"],
    error: "canceling statement due to lock timeout",
    sqlstate: "55P03",
    invalidIndexes: ["ix_t_c"],
  };
  const e = failure(r, BACKUP);
  assert.equal(e.constructor, ClawError);
  assert.equal(e.exitCode, ExitCode.failed);
  assert.equal(
    e.message,
    "revision 0003 could not take its locks within lock_timeout (4 attempts) (applied before it: 0002): canceling statement due to lock timeout",
  );
  assert.equal(
    e.hint,
    `a long transaction holds the table: find it in pg_stat_activity, or raise MIGRATE_LOCK_TIMEOUT; indexes left INVALID: ix_t_c (drop them before retrying); if it must be undone: ${RESTORE}`,
  );
});

test("failure: lock-timeout with nothing applied, no invalid index and no backup has neither in its text", () => {
  const e = failure({ ok: false, code: "lock-timeout", revision: "0001", attempts: 1, applied: [], invalidIndexes: [], error: "lock timeout" }, null);
  assert.equal(e.message, "revision 0001 could not take its locks within lock_timeout (1 attempts): lock timeout");
  assert.equal(e.hint, "a long transaction holds the table: find it in pg_stat_activity, or raise MIGRATE_LOCK_TIMEOUT");
});

test("failure: revision-failed says which revision failed, where the database is and the database's error; the restore is in the hint", () => {
  const r: DriverFailure = {
    ok: false,
    code: "revision-failed",
    revision: "0003",
    applied: ["0002"],
    current: ["0002"],
    error: 'relation "missing" does not exist',
    sqlstate: "42P01",
    invalidIndexes: [],
  };
  const e = failure(r, BACKUP);
  assert.equal(e.exitCode, ExitCode.failed);
  assert.equal(e.message, 'revision 0003 failed (applied before it: 0002); the database is at 0002: relation "missing" does not exist');
  assert.equal(e.hint, `Postgres rolled that revision back (DDL is transactional); if it must be undone: ${RESTORE}`);
});

test("failure: revision-failed without a backup has no restore command; an empty database is 'no revision'", () => {
  const e = failure({ ok: false, code: "revision-failed", revision: "0001", applied: [], current: [], error: "syntax error at or near x" }, null);
  assert.equal(e.message, "revision 0001 failed; the database is at no revision: syntax error at or near x");
  assert.equal(e.hint, "Postgres rolled that revision back (DDL is transactional)");
});

test("failure: revision-failed lists the indexes left INVALID before the restore", () => {
  const e = failure({ ok: false, code: "revision-failed", revision: "0003", current: ["0002"], invalidIndexes: ["a", "b"], error: "boom" }, BACKUP);
  assert.equal(
    e.hint,
    `Postgres rolled that revision back (DDL is transactional); indexes left INVALID: a, b (drop them before retrying); if it must be undone: ${RESTORE}`,
  );
});

test("failure: any other driver error is 'the migration driver failed', the restore (if any) as the whole hint", () => {
  const withBackup = failure({ ok: false, code: "error", error: "OperationalError: connection refused" }, BACKUP);
  assert.equal(withBackup.message, "the migration driver failed: OperationalError: connection refused");
  assert.equal(withBackup.hint, `if it must be undone: ${RESTORE}`);
  assert.equal(failure({ ok: false, code: "usage", error: "unknown op x" }, null).hint, undefined);
});
