/**
 * Migrations as named phases: Postgres ready → a run that died is reported → state (refuse
 * two heads, a database ahead of the image; nothing pending: done, no backup) → drift → lint
 * (strict: block) → dry run stops here → pre-migrate backup → run record "running" → apply
 * (driver: advisory lock, timeouts, one revision at a time) → expected tables → run record.
 * The caller holds the script lock.
 */
import { join, relative } from "node:path";
import pRetry from "p-retry";
import { runBackup } from "../backup/run.ts";
import { pruneSnapshotsAfterSuccess } from "../backup/store.ts";
import { ClawError, DatabaseAheadError, LockHeldError, PreconditionError } from "../core/errors.ts";
import { appendJsonLine, readJsonLines } from "../core/jsonl.ts";
import type { Output } from "../core/output.ts";
import { SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { Project } from "../project/project.ts";
import { serviceByRole } from "../project/stack.ts";
import { type DriverFailure, MigrationEngine } from "./engine.ts";
import { describeLint, type Finding, ownFindings, type RevisionLint, sessionSql, squawkFindings } from "./lint.ts";
import { type Drift, describeState, drift, type MigrationInfo, type MigrationState, migrationState } from "./state.ts";

export const RUNS_FILE = "releases/migrations.jsonl";

/** A migration run that failed, with the revision it started from and where it left the database. */
export class MigrationFailedError extends ClawError {
  constructor(
    readonly base: ClawError,
    readonly from: string | null,
    readonly current: string | null,
  ) {
    super(base.message, { exitCode: base.exitCode, hint: base.hint, cause: base });
  }
}
const POSTGRES_WAIT_MS = 60 * SECOND_MS;

export interface MigrateOutcome {
  ok: boolean;
  phase: string;
  /** The revision before the run (null: empty database), and after it. */
  from: string | null;
  current: string | null;
  head: string | null;
  state: MigrationState["kind"];
  pending: Array<{ revision: string; file?: string; doc?: string; findings: Finding[]; notLintable?: string; sql?: string | undefined }>;
  applied: string[];
  drift: Drift[];
  backup: string | null;
  error?: string;
  code?: string;
}

export function engineFor(project: Project, compose: ComposeClient = project.compose): MigrationEngine {
  return new MigrationEngine(compose, serviceByRole(project.stack, "backend").name, project.config.migrate);
}

/** Postgres answers (p-retry, bounded): the error says what it waited for and how long. */
export async function waitForPostgres(project: Project): Promise<void> {
  const pg = serviceByRole(project.stack, "postgres").name;
  const { user, db } = project.config.postgres;
  const started = Date.now();
  await pRetry(
    async () => {
      const r = await project.compose.exec(pg, ["pg_isready", "-U", user, "-d", db], {}, { allowFailure: true, timeoutMs: 10 * SECOND_MS });
      if (r.status !== 0) throw new Error(r.stdout.trim() || `pg_isready exit ${r.status}`);
    },
    { retries: 30, minTimeout: 250, maxTimeout: 2000, maxRetryTime: POSTGRES_WAIT_MS },
  ).catch((e: Error) => {
    throw new PreconditionError(
      `PostgreSQL (service ${pg}, database ${db}) did not accept connections within ${Math.round((Date.now() - started) / 1000)} s: ${e.message}`,
      `start it: docker compose up -d ${pg}`,
    );
  });
}

/** Pure: the lint of each pending revision from its rendered SQL (squawk findings merged in by the caller). */
export function lintRevisions(
  pending: readonly string[],
  rendered: Readonly<Record<string, { sql?: string; error?: string }>>,
  timeouts: { lockTimeout: string; statementTimeout: string },
): { lints: RevisionLint[]; sql: Record<string, string> } {
  const sql: Record<string, string> = {};
  const lints = pending.map((revision) => {
    const r = rendered[revision];
    if (!r?.sql) return { revision, notLintable: r?.error ?? "no SQL rendered", findings: [] };
    sql[revision] = sessionSql(r.sql, timeouts);
    return { revision, findings: ownFindings(revision, sql[revision]!) };
  });
  return { lints, sql };
}

export async function lintPending(
  project: Project,
  engine: MigrationEngine,
  pending: readonly string[],
  squawk: string | undefined,
  out: Output,
): Promise<RevisionLint[]> {
  const { lints, sql } = lintRevisions(pending, await engine.sql(pending), project.config.migrate);
  const withSql = (l: RevisionLint): RevisionLint => (sql[l.revision] ? { ...l, sql: sql[l.revision]! } : l);
  if (!squawk) {
    if (project.config.migrate.lint === "strict")
      throw new PreconditionError(
        "MIGRATE_LINT=strict, but squawk is not installed: the revisions cannot be linted; nothing was applied",
        "npm ci installs it on linux-x64 (@squawk-cli/linux-x64), or set MIGRATE_LINT=warn",
      );
    out.warn("squawk is not installed (npm ci installs it on linux-x64: @squawk-cli/linux-x64): only claw-ops' own lint rules ran");
    return lints.map(withSql);
  }
  const found = await squawkFindings(squawk, sql);
  return lints.map((l) => {
    const theirs = found.filter((f) => f.revision === l.revision);
    // squawk names CONCURRENTLY in a transaction itself: ours only where it did not.
    const ours = l.findings.filter(
      (f) => !(f.rule === "concurrently-in-transaction" && theirs.some((t) => t.rule === "ban-concurrent-index-creation-in-transaction")),
    );
    return withSql({ ...l, findings: [...theirs, ...ours] });
  });
}

export interface StatusReport {
  info: MigrationInfo;
  state: MigrationState;
  drift: Drift[];
}

export async function migrationStatus(project: Project, engine: MigrationEngine): Promise<StatusReport> {
  await waitForPostgres(project);
  const info = await engine.info();
  return { info, state: migrationState(info), drift: drift(info) };
}

/** A run that died while applying: the next one says which revision and what to do. */
export function reportInterruptedRun(root: string, out: Output): boolean {
  const rows = readJsonLines(join(root, RUNS_FILE)).rows as Array<{
    id: string;
    status: string;
    pending?: string[];
    backup?: string | null;
    startedAt?: string;
  }>;
  const byId = new Map<string, (typeof rows)[number]>();
  for (const r of rows) byId.set(r.id, { ...byId.get(r.id), ...r });
  const last = [...byId.values()].pop();
  if (last?.status !== "running") return false;
  out.warn(
    `a migrate run (${last.id}, started ${last.startedAt}) died while applying ${(last.pending ?? []).join(", ") || "its revisions"}: Postgres rolled back the revision it was in (transactional DDL); the state below is what the database holds now`,
  );
  if (last.backup) out.warn(`if a revision was not transactional, restore its pre-migrate backup: ${restoreCommand(last.backup)}`);
  appendJsonLine(join(root, RUNS_FILE), { id: last.id, status: "interrupted", finishedAt: new Date().toISOString() });
  return true;
}

export const restoreCommand = (backup: string) =>
  `npx zx scripts/rollback.mts --backup ${backup} --skip-redis --skip-milvus --skip-uploads --skip-config -y`;

export interface ApplyOptions {
  skipBackup: boolean;
  dryRun: boolean;
  /** squawk's binary, when installed. */
  squawk: string | undefined;
  /** Called with the plan before anything changes (deploy prints its own). */
  compose?: ComposeClient;
}

/**
 * MIGRATE_COMMAND: the backend's own tool instead of Alembic. Only applying is possible (no
 * status, lint or rollback: those read Alembic's revisions); the same backup and run records.
 */
async function applyCommand(project: Project, out: Output, o: ApplyOptions, command: readonly string[]): Promise<MigrateOutcome> {
  if (o.dryRun) throw new PreconditionError("MIGRATE_COMMAND is set: a dry run needs Alembic's revisions", "unset MIGRATE_COMMAND to use Alembic");
  await waitForPostgres(project);
  const base = {
    from: null,
    current: null,
    head: null,
    state: "pending" as const,
    drift: [],
    applied: [] as string[],
    backup: null as string | null,
  };
  if (!o.skipBackup) {
    const r = await out.step("pre-migrate backup (postgres)", () => runBackup(project, out, { components: ["postgres"], tier: "pre-migrate" }));
    base.backup = relative(project.root, r.dir);
  }
  const id = new Date().toISOString();
  const runs = join(project.root, RUNS_FILE);
  appendJsonLine(runs, { id, status: "running", startedAt: id, pid: process.pid, command: command.join(" "), backup: base.backup });
  const backend = serviceByRole(project.stack, "backend").name;
  const r = await out.step(`${command.join(" ")} (one-off container of the backend image)`, () =>
    (o.compose ?? project.compose).runOnce(backend, command, { noDeps: true }, { allowFailure: true, timeoutMs: 6 * 60 * 60_000 }),
  );
  appendJsonLine(runs, { id, status: r.status === 0 ? "done" : "failed", finishedAt: new Date().toISOString() });
  if (r.status !== 0) {
    throw new ClawError(`MIGRATE_COMMAND failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`, {
      hint: base.backup ? `if it must be undone: ${restoreCommand(base.backup)}` : "see its output above",
    });
  }
  return { ok: true, phase: "done", ...base, pending: [] };
}

/** Apply pending revisions (the caller holds the lock). Throws a typed error on every refusal or failure. */
export async function applyMigrations(project: Project, out: Output, o: ApplyOptions): Promise<MigrateOutcome> {
  const command = project.config.migrate.command;
  if (command) return applyCommand(project, out, o, command);
  const engine = engineFor(project, o.compose);
  // The caller holds the lock: a one-off container of ours still running belongs to the dead
  // run (killing it makes Postgres roll back the revision it is in).
  // A dry run holds no lock: it only reads (a run may be applying right now).
  if (!o.dryRun && reportInterruptedRun(project.root, out)) {
    const n = await project.compose.removeOneOffs(project.effectiveName);
    if (n) out.warn(`stopped ${n} migration container(s) the dead run left running`);
  }
  const { info, state, drift: drifted } = await out.step("migration state", () => migrationStatus(project, engine));
  const base = {
    from: info.current[0] ?? null,
    current: info.current[0] ?? null,
    head: info.heads[0] ?? null,
    state: state.kind,
    drift: drifted,
    applied: [] as string[],
    backup: null as string | null,
  };
  out.info(describeState(state));
  for (const d of drifted)
    out.warn(
      `${d.file} (revision ${d.revision}) changed since it was applied (sha256 ${d.appliedSha256.slice(0, 12)} → ${d.nowSha256.slice(0, 12)})`,
    );
  refuseState(state);
  if (state.kind !== "pending") {
    return { ok: true, phase: "done", ...base, pending: [] };
  }
  const lints = await out.step(`lint ${state.pending.length} pending revision(s)`, () => lintPending(project, engine, state.pending, o.squawk, out));
  for (const l of describeLint(lints)) out.warn(l);
  const pending = state.pending.map((revision) => {
    const r = info.revisions.find((x) => x.revision === revision);
    const l = lints.find((x) => x.revision === revision);
    return {
      revision,
      ...(r ? { file: r.file, doc: r.doc } : {}),
      findings: l?.findings ?? [],
      ...(l?.notLintable ? { notLintable: l.notLintable } : {}),
    };
  });
  const findings = pending.reduce((n, p) => n + p.findings.length, 0);
  if (findings && project.config.migrate.lint === "strict") {
    throw new PreconditionError(
      `MIGRATE_LINT=strict: ${findings} lint finding(s) in the pending revisions; nothing was applied`,
      "fix the revisions (see the findings above), or set MIGRATE_LINT=warn",
    );
  }
  if (o.dryRun) {
    // The SQL each pending revision runs, as Alembic renders it offline (where it can).
    for (const l of lints) if (l.sql) out.info(`-- ${l.revision}: the SQL it runs\n${l.sql.trim()}`);
    return { ok: true, phase: "dry-run", ...base, pending: pending.map((p) => ({ ...p, sql: lints.find((l) => l.revision === p.revision)?.sql })) };
  }
  let backup: string | null = null;
  if (!o.skipBackup) {
    const r = await out.step("pre-migrate backup (postgres)", () => runBackup(project, out, { components: ["postgres"], tier: "pre-migrate" }));
    backup = relative(project.root, r.dir);
  }
  const id = new Date().toISOString();
  const runs = join(project.root, RUNS_FILE);
  appendJsonLine(runs, { id, status: "running", startedAt: id, pid: process.pid, from: base.current, pending: state.pending, backup });
  const result = await out.step(`alembic upgrade ${state.head} (one revision at a time)`, async () => {
    const r = await engine.upgrade("head");
    if (r.ok) return r;
    appendJsonLine(runs, { id, status: "failed", finishedAt: new Date().toISOString(), error: r.error ?? r.code, revision: r.revision ?? null });
    throw new MigrationFailedError(failure(r, backup), base.current, r.current?.[0] ?? base.current);
  });
  const tables = await engine.tables(project.config.migrate.expectTables);
  const missing = Object.entries(tables)
    .filter(([, ok]) => !ok)
    .map(([t]) => t);
  appendJsonLine(runs, {
    id,
    status: missing.length ? "failed" : "done",
    finishedAt: new Date().toISOString(),
    applied: result.applied,
    to: result.current[0] ?? null,
  });
  if (missing.length) {
    const e = new ClawError(`migrated to ${result.current.join(", ")}, but expected tables are missing: ${missing.join(", ")}`, {
      hint: `check MIGRATE_EXPECT_TABLES${backup ? `; to go back: ${restoreCommand(backup)}` : ""}`,
    });
    throw new MigrationFailedError(e, base.current, result.current[0] ?? null);
  }
  // Pruned only after a run that worked: a failed one's backup is the one to go back to.
  if (backup)
    pruneSnapshotsAfterSuccess(
      project.root,
      () => project.config.snapshotRetention(),
      ["pre-migrate"],
      (m) => out.warn(m),
    );
  out.success(`applied ${result.applied.join(", ")}: the database is at ${result.current.join(", ")}`);
  return { ok: true, phase: "done", ...base, current: result.current[0] ?? null, applied: result.applied, backup, pending };
}

/** Refuse what must never be applied: two heads, a database ahead of the image. */
export function refuseState(state: MigrationState): void {
  if (state.kind === "multiple-heads") {
    throw new PreconditionError(describeState(state), `alembic merge -m "merge heads" ${state.heads.join(" ")}, then build the image again`);
  }
  if (state.kind === "ahead") {
    throw new DatabaseAheadError(
      describeState(state),
      "deploy the image that made that revision (deploy.mts --rollback-release goes back only in code, never in schema)",
    );
  }
  if (state.kind === "no-revisions") throw new PreconditionError(describeState(state), "is alembic.ini in the backend image's working directory?");
}

/** A driver failure as the operator's error: the revision, the database's own words, what to run. */
export function failure(r: DriverFailure, backup: string | null): ClawError {
  if (r.code === "lock-held") {
    const h = r.holder as [number, string, string, string, string, string] | null | undefined;
    return new LockHeldError(
      `another migration holds the database's migration lock (waited ${r.waitedS ?? "?"} s)${h ? `: Postgres pid ${h[0]}${h[1] ? ` (${h[1]})` : ""}, connected since ${h[3]}` : ""}`,
      "let it finish, or raise MIGRATE_LOCK_WAIT_S",
    );
  }
  const restore = backup ? `; if it must be undone: ${restoreCommand(backup)}` : "";
  const applied = r.applied?.length ? ` (applied before it: ${r.applied.join(", ")})` : "";
  const invalid = r.invalidIndexes?.length ? `; indexes left INVALID: ${r.invalidIndexes.join(", ")} (drop them before retrying)` : "";
  if (r.code === "lock-timeout") {
    return new ClawError(`revision ${r.revision} could not take its locks within lock_timeout (${r.attempts} attempts)${applied}: ${r.error}`, {
      hint: `a long transaction holds the table: find it in pg_stat_activity, or raise MIGRATE_LOCK_TIMEOUT${invalid}${restore}`,
    });
  }
  if (r.code === "revision-failed") {
    return new ClawError(`revision ${r.revision} failed${applied}; the database is at ${r.current?.join(", ") || "no revision"}: ${r.error}`, {
      hint: `Postgres rolled that revision back (DDL is transactional)${invalid}${restore}`,
    });
  }
  return new ClawError(`the migration driver failed: ${r.error}`, { hint: restore ? restore.slice(2) : undefined });
}
