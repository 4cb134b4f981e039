/**
 * Migrations as named phases: Postgres ready → a run that died is reported → state (refuse
 * two heads, a database ahead of the image; nothing pending: done, no backup) → drift → lint
 * (strict: block) → dry run stops here → pre-migrate backup → run record "running" → apply
 * (driver: advisory lock, timeouts, one revision at a time) → expected tables → run record.
 * The caller holds the script lock.
 */
import { join, relative } from "node:path";
import pRetry from "p-retry";
import { recoverDeadSwaps } from "../backup/recover.ts";
import { runBackup } from "../backup/run.ts";
import { pruneSnapshotsAfterSuccess } from "../backup/store.ts";
import { ClawError, DatabaseAheadError, LockHeldError, PreconditionError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import { appendJsonLine, readJsonLines } from "../core/jsonl.ts";
import type { Output } from "../core/output.ts";
import { redactPersonal } from "../core/secret.ts";
import { SECOND_MS } from "../core/time.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { Project } from "../project/project.ts";
import { serviceByRole } from "../project/stack.ts";
import { type DriverFailure, MigrationEngine } from "./engine.ts";
import { type Finding, lintPending, logLint, type RevisionLint } from "./lint.ts";
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
/** MIGRATE_COMMAND's time limit: a long data migration fits, a hung one is ended. */
const COMMAND_LIMIT_MS = 6 * 60 * 60 * SECOND_MS;

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
      if (r.status !== 0) throw new Error(r.stdout.trim() || msg.migrate.run.pgIsReadyExit({ status: r.status }));
    },
    { retries: 30, minTimeout: 250, maxTimeout: 2000, maxRetryTime: POSTGRES_WAIT_MS },
  ).catch((e: Error) => {
    throw new PreconditionError(
      msg.migrate.run.postgresNotReady({ service: pg, db, secs: Math.round((Date.now() - started) / 1000), reason: e.message }),
      msg.migrate.run.postgresStartHint({ service: pg }),
    );
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

/** The database's backup before a migration changes it (backups/pre-migrate/<id>), by its path from the project. */
export async function preMigrateBackup(project: Project, out: Output): Promise<string> {
  const r = await out.step(
    localized((c) => c.migrate.run.preMigrateBackupStep),
    () => runBackup(project, out, { components: ["postgres"], tier: "pre-migrate" }),
  );
  return relative(project.root, r.dir);
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
  out.warn(msg.migrate.run.interrupted({ id: last.id, startedAt: last.startedAt, pending: (last.pending ?? []).join(", ") }));
  if (last.backup) out.warn(msg.migrate.run.interruptedRestore({ command: restoreCommand(last.backup) }));
  appendJsonLine(join(root, RUNS_FILE), { id: last.id, status: "interrupted", finishedAt: new Date().toISOString() });
  return true;
}

/** The command that restores only the database from `backup` (a pre-migrate or pre-deploy backup), without a prompt. */
export const restoreCommand = (backup: string) =>
  operatorCommand(SCRIPTS.rollback, ["--backup", backup, "--skip-redis", "--skip-milvus", "--skip-uploads", "--skip-config", "-y"]);

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
  if (o.dryRun) throw new PreconditionError(msg.migrate.run.commandDryRun, msg.migrate.run.unsetCommandHint);
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
    base.backup = await preMigrateBackup(project, out);
  }
  const id = new Date().toISOString();
  const runs = join(project.root, RUNS_FILE);
  appendJsonLine(runs, { id, status: "running", startedAt: id, pid: process.pid, command: command.join(" "), backup: base.backup });
  const backend = serviceByRole(project.stack, "backend").name;
  const r = await out.step(
    localized((c) => c.migrate.run.commandStep({ command: command.join(" ") })),
    () => (o.compose ?? project.compose).runOnce(backend, command, { noDeps: true }, { allowFailure: true, timeoutMs: COMMAND_LIMIT_MS }),
  );
  appendJsonLine(runs, { id, status: r.status === 0 ? "done" : "failed", finishedAt: new Date().toISOString() });
  if (r.status !== 0) {
    const tail = r.timedOut
      ? msg.core.errors.timedOut({ signal: "SIGKILL", secs: COMMAND_LIMIT_MS / 1000 })
      : ((r.stderr || r.stdout).trim().split("\n").pop() ?? "");
    throw new ClawError(msg.migrate.run.commandFailed({ status: r.status, tail }), {
      hint: msg.migrate.run.commandFailedHint({ restore: base.backup ? restoreCommand(base.backup) : null }),
    });
  }
  return { ok: true, phase: "done", ...base, pending: [] };
}

/** What every outcome of an Alembic run carries: where the database was, where it stands, what it did. */
type OutcomeBase = Omit<MigrateOutcome, "ok" | "phase" | "pending">;
type PendingRevision = MigrateOutcome["pending"][number];

/**
 * What a run that died left behind, cleared before this one applies anything (the caller holds
 * the lock): its record is reported, its one-off containers removed, a half-moved volume put back.
 */
async function clearDeadRun(project: Project, out: Output): Promise<void> {
  // A one-off container of ours still running belongs to the dead run (killing it makes
  // Postgres roll back the revision it is in). MIGRATE_COMMAND's runs too: a container a killed
  // run left would go on migrating beside the next one.
  // Removed whether or not the run record says so: with the lock (one for every script) held,
  // no one-off of ours can belong to a live run.
  reportInterruptedRun(project.root, out);
  const n = await project.compose.removeOneOffs(project.effectiveName);
  if (n) out.warn(msg.migrate.run.stoppedContainers({ n }));
  // Like every entry point: a volume a dead restore left half-moved is put back first.
  await recoverDeadSwaps(project, out);
}

/** The state phase: the database's revisions against the image's, said to the operator (drift as warnings). */
async function readState(
  project: Project,
  engine: MigrationEngine,
  out: Output,
): Promise<{ info: MigrationInfo; state: MigrationState; base: OutcomeBase }> {
  const {
    info,
    state,
    drift: drifted,
  } = await out.step(
    localized((c) => c.migrate.run.stateStep),
    () => migrationStatus(project, engine),
  );
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
    out.warn(msg.migrate.run.drift({ file: d.file, revision: d.revision, applied: d.appliedSha256.slice(0, 12), now: d.nowSha256.slice(0, 12) }));
  return { info, state, base };
}

/** Pure: each pending revision with its file, its doc and its lint. */
function describePending(info: MigrationInfo, pending: readonly string[], lints: readonly RevisionLint[]): PendingRevision[] {
  return pending.map((revision) => {
    const r = info.revisions.find((x) => x.revision === revision);
    const l = lints.find((x) => x.revision === revision);
    return {
      revision,
      ...(r ? { file: r.file, doc: r.doc } : {}),
      findings: l?.findings ?? [],
      ...(l?.notLintable ? { notLintable: l.notLintable } : {}),
    };
  });
}

/** MIGRATE_LINT=strict: a finding blocks the run. */
function refuseStrictFindings(project: Project, pending: readonly PendingRevision[]): void {
  const findings = pending.reduce((n, p) => n + p.findings.length, 0);
  if (findings && project.config.migrate.lint === "strict") {
    throw new PreconditionError(msg.migrate.run.strictFindings({ n: findings }), msg.migrate.run.strictFindingsHint);
  }
}

/**
 * The apply phase, recorded: run record "running", the upgrade to head, the expected tables,
 * the record's outcome. MigrationFailedError when the driver fails or a table is missing.
 */
async function upgradeRecorded(
  project: Project,
  engine: MigrationEngine,
  out: Output,
  run: { from: string | null; head: string; pending: readonly string[]; backup: string | null },
): Promise<{ applied: string[]; current: string[] }> {
  const { backup } = run;
  const id = new Date().toISOString();
  const runs = join(project.root, RUNS_FILE);
  appendJsonLine(runs, { id, status: "running", startedAt: id, pid: process.pid, from: run.from, pending: run.pending, backup });
  const result = await out.step(
    localized((c) => c.migrate.run.upgradeStep({ head: run.head })),
    async () => {
      const r = await engine.upgrade("head");
      if (r.ok) return r;
      appendJsonLine(runs, {
        id,
        status: "failed",
        finishedAt: new Date().toISOString(),
        error: redactPersonal(r.error ?? r.code),
        revision: r.revision ?? null,
      });
      throw new MigrationFailedError(failure(r, backup), run.from, r.current?.[0] ?? run.from);
    },
  );
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
    const e = new ClawError(msg.migrate.run.tablesMissing({ current: result.current.join(", "), missing: missing.join(", ") }), {
      hint: msg.migrate.run.tablesMissingHint({ restore: backup ? restoreCommand(backup) : null }),
    });
    throw new MigrationFailedError(e, run.from, result.current[0] ?? null);
  }
  return result;
}

/** Apply pending revisions (the caller holds the lock). Throws a typed error on every refusal or failure. */
export async function applyMigrations(project: Project, out: Output, o: ApplyOptions): Promise<MigrateOutcome> {
  // A dry run holds no lock: it only reads (a run may be applying right now).
  if (!o.dryRun) await clearDeadRun(project, out);
  const command = project.config.migrate.command;
  if (command) return applyCommand(project, out, o, command);
  const engine = engineFor(project, o.compose);
  const { info, state, base } = await readState(project, engine, out);
  refuseState(state);
  if (state.kind !== "pending") {
    return { ok: true, phase: "done", ...base, pending: [] };
  }
  const lints = await out.step(
    localized((c) => c.migrate.run.lintStep({ n: state.pending.length })),
    () => lintPending(project, engine, state.pending, o.squawk, out),
  );
  logLint(lints, out);
  const pending = describePending(info, state.pending, lints);
  refuseStrictFindings(project, pending);
  if (o.dryRun) {
    // The SQL each pending revision runs, as Alembic renders it offline (where it can).
    for (const l of lints) if (l.sql) out.info(msg.migrate.run.dryRunSql({ revision: l.revision, sql: l.sql.trim() }));
    return { ok: true, phase: "dry-run", ...base, pending: pending.map((p) => ({ ...p, sql: lints.find((l) => l.revision === p.revision)?.sql })) };
  }
  const backup = o.skipBackup ? null : await preMigrateBackup(project, out);
  const result = await upgradeRecorded(project, engine, out, { from: base.current, head: state.head, pending: state.pending, backup });
  // Pruned only after a run that worked: a failed one's backup is the one to go back to.
  if (backup)
    pruneSnapshotsAfterSuccess(
      project.root,
      () => project.config.snapshotRetention(),
      ["pre-migrate"],
      (m) => out.warn(m),
    );
  out.success(msg.migrate.run.applied({ applied: result.applied.join(", "), current: result.current.join(", ") }));
  return { ok: true, phase: "done", ...base, current: result.current[0] ?? null, applied: result.applied, backup, pending };
}

/** Refuse what must never be applied: two heads, a database ahead of the image. */
export function refuseState(state: MigrationState): void {
  if (state.kind === "multiple-heads") {
    throw new PreconditionError(describeState(state), msg.migrate.run.mergeHeadsHint({ heads: state.heads.join(" ") }));
  }
  if (state.kind === "ahead") {
    throw new DatabaseAheadError(describeState(state), msg.migrate.run.aheadHint);
  }
  if (state.kind === "no-revisions") throw new PreconditionError(describeState(state), msg.migrate.run.noRevisionsHint);
}

/** A driver failure as the operator's error: the revision, the database's own words, what to run. */
export function failure(r: DriverFailure, backup: string | null): ClawError {
  if (r.code === "lock-held") {
    const h = r.holder as [number, string, string, string, string, string] | null | undefined;
    return new LockHeldError(
      msg.migrate.run.lockHeld({ waited: r.waitedS ?? "?", holder: h ? { pid: h[0], app: h[1], since: h[3] } : null }),
      msg.migrate.run.lockHeldHint,
    );
  }
  const restore = backup ? restoreCommand(backup) : null;
  const applied = (r.applied ?? []).join(", ");
  const invalid = (r.invalidIndexes ?? []).join(", ");
  if (r.code === "lock-timeout") {
    return new ClawError(msg.migrate.run.lockTimeout({ revision: r.revision, attempts: r.attempts, applied, error: r.error }), {
      hint: msg.migrate.run.lockTimeoutHint({ invalid, restore }),
    });
  }
  if (r.code === "revision-failed") {
    return new ClawError(msg.migrate.run.revisionFailed({ revision: r.revision, applied, current: r.current?.join(", ") ?? "", error: r.error }), {
      hint: msg.migrate.run.revisionFailedHint({ invalid, restore }),
    });
  }
  return new ClawError(msg.migrate.run.driverFailed({ error: r.error }), { hint: restore ? msg.migrate.run.undoHint({ restore }) : undefined });
}
