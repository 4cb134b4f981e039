/**
 * PostgreSQL: `pg_dump -Fc` streamed out of `docker compose exec -T` straight into the
 * backup file, roles from `pg_dumpall --globals-only`, row counts per table read back out
 * of the dump itself (which also proves its data section decodes).
 * Restore: into a fresh database, verified (prepare: while the snapshot is taken and the
 * backend still runs), then swapped in for the live one.
 * The commands themselves are built in lib/commands/postgres.ts.
 */
import { join } from "node:path";
import {
  type Codec,
  createDatabaseSql,
  drillCommand,
  dropDatabaseSql,
  dumpAndCount,
  hasZstd,
  listDump,
  parseCounts,
  parseDumpCounts,
  pgDumpGlobals,
  pgVersion,
  psql,
  ROW_COUNT_SQL,
  restoreDump,
  restoreNames,
  swapRecovery,
  swapStateSql,
  swapSteps,
} from "../../commands/postgres.ts";
import { sleep } from "../../core/async.ts";
import { runUndoable } from "../../core/cleanup.ts";
import { ClawError, InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import { serviceByRole } from "../../project/stack.ts";
import { type ArtifactRecord, artifact, type ComponentRecord } from "../manifest.ts";
import type { Component, ComponentContext } from "./component.ts";

export const DUMP_FILE = (db: string, codec: Codec = "none") => `postgres-${db}.dump${codec === "zstd" ? ".zst" : ""}`;
const isDump = (file: string) => /\.dump(\.zst)?$/.test(file);
export const codecOf = (file: string): Codec => (file.endsWith(".zst") ? "zstd" : "none");
export const GLOBALS_FILE = "postgres-globals.sql";

// ---- the component ------------------------------------------------------------------------
function names(ctx: ComponentContext) {
  const service = serviceByRole(ctx.project.stack, "postgres").name;
  const { user, db } = ctx.project.config.postgres;
  return { service, user, db };
}

async function liveCounts(ctx: ComponentContext, service: string, user: string, db: string): Promise<Record<string, number>> {
  return parseCounts((await ctx.project.compose.exec(service, psql(user, db, ROW_COUNT_SQL))).stdout);
}

function dumpOf(rec: ComponentRecord): ArtifactRecord {
  const dump = rec.artifacts.find((a) => isDump(a.file));
  if (!dump) throw new InvalidBackupError("postgres: no dump file in the manifest");
  return dump;
}

/** A backend that pg_terminate_backend was sent to may take a moment to go: retry what it blocks (SQLSTATE 55006). */
async function retryWhileInUse<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const text = `${(e as Error).message}\n${(e as { stderrTail?: string }).stderrTail ?? ""}`;
      if (attempt >= 40 || !/is being accessed by other users/.test(text)) throw e;
      await sleep(250);
    }
  }
}

export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[k] !== actual[k]) diffs.push(`${k.replace(/^table:/, "")}: expected ${expected[k] ?? "none"}, got ${actual[k] ?? "none"}`);
  }
  return diffs;
}

/**
 * A restore killed in the middle of its swap leaves the live database renamed away or
 * refusing connections: put it back before anything else reads it (a dump, the next restore).
 */
async function recoverSwap(ctx: ComponentContext): Promise<void> {
  const { service, user, db } = names(ctx);
  const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
  const { sql, leftovers } = swapRecovery(db, (await exec(swapStateSql(db))).stdout);
  for (const q of sql) await exec(q);
  if (sql.length) ctx.out.warn(`postgres: database ${db} was left half-swapped by a restore that died; put back as it was before that restore`);
  if (leftovers.length)
    ctx.out.warn(`postgres: ${leftovers.join(", ")} left by a restore that died (the state before it); drop when no longer needed: DROP DATABASE …`);
}

export const postgres: Component = {
  name: "postgres",

  async backup(ctx) {
    const { service, user, db } = names(ctx);
    await recoverSwap(ctx);
    const level = ctx.project.config.postgres.compressionLevel;
    const zstd = level === undefined && (await ctx.project.compose.exec(service, hasZstd(), {}, { allowFailure: true })).status === 0;
    const codec: Codec = zstd ? "zstd" : "none";
    const dump = DUMP_FILE(db, codec);
    const compress = codec === "zstd" ? 0 : level;
    const r = await ctx.project.compose.exec(
      service,
      dumpAndCount(codec, user, db, compress),
      {},
      { stdoutFile: join(ctx.dir, dump), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
    );
    if (r.status === 3) throw new InvalidBackupError("postgres: pg_restore cannot decode the data in the dump", "the dump is damaged");
    if (r.status !== 0)
      throw new ClawError(`postgres: pg_dump failed: ${lastLine(r.stderr)}`, { hint: "is the postgres service running? docker compose ps postgres" });
    const counts = parseDumpCounts(r.stderr);
    await ctx.project.compose.exec(service, pgDumpGlobals(user), {}, { stdoutFile: join(ctx.dir, GLOBALS_FILE) });
    const version = (await ctx.project.compose.exec(service, pgVersion())).stdout.trim();
    return {
      artifacts: [await artifact(ctx.dir, dump), await artifact(ctx.dir, GLOBALS_FILE)],
      tools: { pg_dump: version, compression: codec === "zstd" ? "zstd -3 (pg_dump --compress=0)" : `pg_dump zlib, level ${level ?? "default"}` },
      counts,
      notes: [
        `database ${db}, custom format${codec === "zstd" ? " in zstd (restore by hand: zstd -dc FILE | pg_restore …)" : ""}; roles in ${GLOBALS_FILE} (not applied on restore: .env.prod owns the password)`,
      ],
    };
  },

  async verify(ctx, rec) {
    const { service } = names(ctx);
    const dump = dumpOf(rec);
    const list = await ctx.project.compose.execOrThrowaway(service, listDump(codecOf(dump.file)), {
      stdinFile: join(ctx.dir, dump.file),
      allowFailure: true,
    });
    if (list.status !== 0 || !/Archive created at/.test(list.stdout)) {
      throw new InvalidBackupError(`postgres: pg_restore cannot read ${dump.file}`, "the dump is damaged; use another backup");
    }
  },

  async drill(ctx, rec) {
    const { service, user } = names(ctx);
    const dump = dumpOf(rec);
    const r = await ctx.project.compose.throwaway(
      ctx.project.effectiveName,
      service,
      drillCommand(user, codecOf(dump.file)),
      { entrypoint: "sh", user: "postgres" },
      { stdinFile: join(ctx.dir, dump.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
    );
    if (r.status !== 0) throw new InvalidBackupError(`postgres: the dump does not restore into a fresh database: ${lastLine(r.stderr)}`);
    const counts = parseCounts(r.stdout);
    const diffs = compareCounts(rec.counts, counts);
    if (diffs.length) throw new InvalidBackupError(`postgres: restored row counts differ from the manifest: ${diffs.slice(0, 3).join("; ")}`);
    const rows = Object.values(counts).reduce((s, n) => s + n, 0);
    return `restored into a throwaway database: ${Object.keys(counts).length} tables, ${rows} rows, as in the manifest`;
  },

  // No recoverSwap here: the snapshot's backup() does it, at the same time, before any swap.
  async prepare(ctx, rec) {
    const { service, user, db } = names(ctx);
    const dump = dumpOf(rec);
    const { restored } = restoreNames(db, Date.now().toString(36));
    const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
    const discard = async () => {
      await exec(dropDatabaseSql(restored)).catch(() => undefined);
    };
    await exec(dropDatabaseSql(restored));
    await exec(createDatabaseSql(restored, user));
    try {
      // --exit-on-error: the first error stops the restore; the live database is untouched.
      await ctx.project.compose.exec(
        service,
        restoreDump(codecOf(dump.file), user, restored),
        {},
        { stdinFile: join(ctx.dir, dump.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS },
      );
      const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, restored));
      if (diffs.length) throw new RestoreMismatchError("postgres", `restored row counts differ from the backup: ${diffs.slice(0, 3).join("; ")}`);
    } catch (e) {
      await discard();
      throw e;
    }
    return { ref: restored, discard };
  },

  async restore(ctx, rec, prepared) {
    const { service, user, db } = names(ctx);
    const ready = prepared ?? (await postgres.prepare!(ctx, rec));
    const { old } = restoreNames(db, Date.now().toString(36));
    const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
    // A failed step undoes the ones before it: the live database keeps its name and accepts connections again.
    await runUndoable(swapSteps(db, ready.ref, old), (sql) => retryWhileInUse(() => exec(sql))).catch(async (e: unknown) => {
      await ready.discard();
      throw e;
    });
    await exec(dropDatabaseSql(old, { ifExists: false }));
    const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, db));
    if (diffs.length) throw new RestoreMismatchError("postgres", `row counts after the swap differ: ${diffs.slice(0, 3).join("; ")}`);
  },
};
