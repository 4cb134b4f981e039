/** English messages of lib/migrate (see ../index.ts for the rules). */
import { operatorCommand, SCRIPTS } from "../../vocabulary/scripts.ts";

/** The command that undoes a run, as the end of a hint. */
const undo = (command: string) => `if it must be undone: ${command}`;
/** "; if it must be undone: …" after a hint, when there is a backup to restore. */
const undoSuffix = (command: string | null) => (command ? `; ${undo(command)}` : "");
/** " (applied before it: …)" when revisions were applied before the one that failed. */
const appliedBefore = (applied: string) => (applied ? ` (applied before it: ${applied})` : "");
/** "; indexes left INVALID: …" when a failed CONCURRENTLY left some behind. */
const invalidIndexes = (invalid: string) => (invalid ? `; indexes left INVALID: ${invalid} (drop them before retrying)` : "");

export const migrate = {
  engine: {
    driverDidNotRun: (p: { backend: string; reason: string }) => `the migration driver did not run in the ${p.backend} image: ${p.reason}`,
    driverDidNotRunHint: "the backend image needs python3 with alembic and sqlalchemy, and alembic.ini in its working directory",
    cannotReadState: (p: { error: string | undefined }) => `cannot read the migration state: ${p.error}`,
    createDatabaseHint: `create it: ${operatorCommand(SCRIPTS.migrate, ["--init"])}`,
    isPostgresUpHint: "is Postgres up? see docker compose logs postgres",
    cannotRenderSql: (p: { error: string | undefined }) => `cannot render the migrations' SQL: ${p.error}`,
    cannotCheckTables: (p: { error: string | undefined }) => `cannot check the tables: ${p.error}`,
    badRevisionId: (p: { id: string }) =>
      `the backend image (or the database) names a revision ${p.id} that is not a plain revision id (letters, digits, _): refused before it reaches a file, a command or SQL`,
    badRevisionIdHint: "check the image's alembic/versions (revision = ...) and the database's alembic_version table",
  },
  state: {
    atHead: (p: { head: string }) => `the database is at head (${p.head})`,
    pending: (p: { count: number; current: string | null; head: string; pending: string }) =>
      `${p.count} revision${p.count === 1 ? "" : "s"} pending: ${p.current ?? "empty database"} → ${p.head} (${p.pending})`,
    ahead: (p: { unknown: string }) => `the database is ahead of this image: it is at ${p.unknown}, which the image does not know`,
    multipleHeads: (p: { count: number; heads: string }) => `the image has ${p.count} Alembic heads (${p.heads}): merge the heads`,
    noRevisions: "the image has no Alembic revisions",
  },
  lint: {
    concurrentlyInTransaction:
      "CONCURRENTLY inside a transaction fails at once: run it in its own revision outside the transaction (op.get_context().autocommit_block())",
    squawkFailed: (p: { why: string }) => `squawk failed: ${p.why}`,
    notLintable: (p: { revision: string; reason: string }) => `${p.revision}: not lintable (${p.reason})`,
    noFindings: (p: { revision: string }) => `${p.revision}: no findings`,
    finding: (p: { revision: string; rule: string; line: number | undefined; message: string }) =>
      `${p.revision}: ${p.rule}${p.line ? ` (line ${p.line})` : ""}: ${p.message}`,
  },
  run: {
    postgresNotReady: (p: { service: string; db: string; secs: number; reason: string }) =>
      `PostgreSQL (service ${p.service}, database ${p.db}) did not accept connections within ${p.secs} s: ${p.reason}`,
    postgresStartHint: (p: { service: string }) => `start it: docker compose up -d ${p.service}`,
    pgIsReadyExit: (p: { status: number | null }) => `pg_isready exit ${p.status}`,
    noSqlRendered: "no SQL rendered",
    strictWithoutSquawk: "MIGRATE_LINT=strict, but squawk is not installed: the revisions cannot be linted; nothing was applied",
    strictWithoutSquawkHint: "npm ci installs it on linux-x64 (@squawk-cli/linux-x64), or set MIGRATE_LINT=warn",
    squawkMissing: "squawk is not installed (npm ci installs it on linux-x64: @squawk-cli/linux-x64): only claw-ops' own lint rules ran",
    interrupted: (p: { id: string; startedAt: string | undefined; pending: string }) =>
      `a migrate run (${p.id}, started ${p.startedAt}) died while applying ${p.pending || "its revisions"}: Postgres rolled back the revision it was in (transactional DDL); the state below is what the database holds now`,
    interruptedRestore: (p: { command: string }) => `if a revision was not transactional, restore its pre-migrate backup: ${p.command}`,
    commandDryRun: "MIGRATE_COMMAND is set: a dry run needs Alembic's revisions",
    unsetCommandHint: "unset MIGRATE_COMMAND to use Alembic",
    preMigrateBackupStep: "pre-migrate backup (postgres)",
    commandStep: (p: { command: string }) => `${p.command} (one-off container of the backend image)`,
    commandFailed: (p: { status: number | null; tail: string }) => `MIGRATE_COMMAND failed (exit ${p.status}): ${p.tail}`,
    commandFailedHint: (p: { restore: string | null }) => (p.restore ? undo(p.restore) : "see its output above"),
    stoppedContainers: (p: { n: number }) => `stopped ${p.n} migration container(s) the dead run left running`,
    stateStep: "migration state",
    drift: (p: { file: string; revision: string; applied: string; now: string }) =>
      `${p.file} (revision ${p.revision}) changed since it was applied (sha256 ${p.applied} → ${p.now})`,
    lintStep: (p: { n: number }) => `lint ${p.n} pending revision(s)`,
    strictFindings: (p: { n: number }) => `MIGRATE_LINT=strict: ${p.n} lint finding(s) in the pending revisions; nothing was applied`,
    strictFindingsHint: "fix the revisions (see the findings above), or set MIGRATE_LINT=warn",
    dryRunSql: (p: { revision: string; sql: string }) => `-- ${p.revision}: the SQL it runs\n${p.sql}`,
    upgradeStep: (p: { head: string }) => `alembic upgrade ${p.head} (one revision at a time)`,
    tablesMissing: (p: { current: string; missing: string }) => `migrated to ${p.current}, but expected tables are missing: ${p.missing}`,
    tablesMissingHint: (p: { restore: string | null }) => `check MIGRATE_EXPECT_TABLES${p.restore ? `; to go back: ${p.restore}` : ""}`,
    applied: (p: { applied: string; current: string }) => `applied ${p.applied}: the database is at ${p.current}`,
    mergeHeadsHint: (p: { heads: string }) => `alembic merge -m "merge heads" ${p.heads}, then build the image again`,
    aheadHint: "deploy the image that made that revision (deploy.mts --rollback-release goes back only in code, never in schema)",
    noRevisionsHint: "is alembic.ini in the backend image's working directory?",
    lockHeld: (p: { waited: string | number; holder: { pid: number; app: string; since: string } | null }) =>
      `another migration holds the database's migration lock (waited ${p.waited} s)${
        p.holder ? `: Postgres pid ${p.holder.pid}${p.holder.app ? ` (${p.holder.app})` : ""}, connected since ${p.holder.since}` : ""
      }`,
    lockHeldHint: "let it finish, or raise MIGRATE_LOCK_WAIT_S",
    lockTimeout: (p: { revision: string | undefined; attempts: number | undefined; applied: string; error: string | undefined }) =>
      `revision ${p.revision} could not take its locks within lock_timeout (${p.attempts} attempts)${appliedBefore(p.applied)}: ${p.error}`,
    lockTimeoutHint: (p: { invalid: string; restore: string | null }) =>
      `a long transaction holds the table: find it in pg_stat_activity, or raise MIGRATE_LOCK_TIMEOUT${invalidIndexes(p.invalid)}${undoSuffix(p.restore)}`,
    revisionFailed: (p: { revision: string | undefined; applied: string; current: string; error: string | undefined }) =>
      `revision ${p.revision} failed${appliedBefore(p.applied)}; the database is at ${p.current || "no revision"}: ${p.error}`,
    revisionFailedHint: (p: { invalid: string; restore: string | null }) =>
      `Postgres rolled that revision back (DDL is transactional)${invalidIndexes(p.invalid)}${undoSuffix(p.restore)}`,
    driverFailed: (p: { error: string | undefined }) => `the migration driver failed: ${p.error}`,
    undoHint: (p: { restore: string }) => undo(p.restore),
  },
  seed: {
    edited: (p: { name: string; applied: string; now: string }) =>
      `seeds/${p.name} changed since it was applied (sha256 ${p.applied} → ${p.now}): not run again; write a new seed file for the change`,
    step: (p: { name: string }) => `seed ${p.name}`,
    failed: (p: { name: string; tail: string }) => `seeds/${p.name} failed (nothing of it was kept: one transaction): ${p.tail}`,
    none: (p: { dir: string }) => `no seed files in ${p.dir}/`,
    summary: (p: { applied: number; unchanged: number; edited: number }) =>
      `seeds: ${p.applied} applied, ${p.unchanged} already applied, ${p.edited} edited since`,
  },
  init: {
    databaseExists: (p: { db: string }) => `database ${p.db} exists`,
    databaseCreated: (p: { db: string }) => `database ${p.db} created`,
    extensionsPresent: (p: { extensions: string }) => `extensions present: ${p.extensions}`,
  },
  fresh: {
    question: (p: { db: string }) => `Drop database ${p.db} and create it empty? Every row in it is lost (a backup is taken first).`,
    what: (p: { db: string }) => `drop database ${p.db}`,
    backupStep: "backup before --fresh (postgres)",
    restoreLine: (p: { command: string }) => `to get the old database back: ${p.command}`,
    dropCreateStep: (p: { db: string }) => `drop and create ${p.db}`,
  },
  cli: {
    modesConflict: (p: { a: string; b: string }) => `--${p.a} and --${p.b} cannot be combined`,
    notWithMode: (p: { flag: string; mode: string }) => `--${p.flag} goes with a migration run, not with --${p.mode}`,
    readOnlyMode: (p: { mode: string }) => `--${p.mode} changes nothing: it takes no --skip-backup, --dry-run or -y`,
    notRevisionId: (p: { quoted: string }) => `--rollback ${p.quoted} is not an Alembic revision id`,
    rollbackNoDryRun: "--rollback has no --dry-run",
    seeRevisionsHint: "see the revisions with --status",
    noDryRun: (p: { flag: string }) => `--${p.flag} has no --dry-run`,
    freshNoSkipBackup: "--fresh always takes a backup first: it has no --skip-backup",
    commandSet: (p: { mode: string }) => `MIGRATE_COMMAND is set: --${p.mode} needs Alembic's revisions`,
    nothingToLint: "nothing pending: nothing to lint",
    notInImage: (p: { revision: string }) => `revision ${p.revision} is not in this image`,
    notBelow: (p: { revision: string; current: string }) =>
      `revision ${p.revision} is not below the database's (${p.current || "none"}): nothing to downgrade to`,
    alreadyAt: (p: { revision: string }) => `the database is at ${p.revision} already: nothing to downgrade`,
    downgradeQuestion: (p: { from: string; to: string; undo: string }) =>
      `Downgrade the database from ${p.from} to ${p.to}, undoing ${p.undo}? What they added is dropped.`,
    downgradeWhat: "downgrade",
    downgradeStep: (p: { revision: string }) => `alembic downgrade ${p.revision}`,
    downgraded: (p: { applied: string; current: string }) => `downgraded ${p.applied}: the database is at ${p.current || "no revision"}`,
    strictFresh: "MIGRATE_LINT=strict: the revisions have lint findings (see --lint); the database was not dropped",
    strictFreshHint: "fix them, or set MIGRATE_LINT=warn",
    initStep: "init: database and extensions",
    nothingToMigrate: "nothing to migrate",
    dryRunDone: "dry run: nothing was changed",
    status: {
      currentAndHead: (p: { current: string | null; heads: string }) => `current: ${p.current ?? "(empty database)"}   head: ${p.heads || "(none)"}`,
      pending: "pending",
      current: "current",
      applied: "applied",
      row: (p: { label: string; revision: string; file: string; doc: string }) => `  ${p.label}  ${p.revision}  ${p.file}  ${p.doc}`,
      drift: (p: { file: string; revision: string }) => `DRIFT: ${p.file} (${p.revision}) changed since it was applied`,
    },
  },
};
