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
  copyDatabaseSql,
  createDatabaseSql,
  databaseExistsSql,
  drillCommand,
  dropDatabaseSql,
  dumpAndCount,
  hasZstd,
  keptDatabase,
  keptDatabasesSql,
  keptTagOf,
  listDump,
  parseCounts,
  parseDumpCounts,
  pgDumpGlobals,
  pgVersion,
  psql,
  ROW_COUNT_SQL,
  restoreDump,
  restoreNames,
  serverVersionNumSql,
  swapRecovery,
  swapStateSql,
  swapSteps,
} from "../../commands/postgres.ts";
import { sleep } from "../../core/async.ts";
import { runUndoable } from "../../core/cleanup.ts";
import { ClawError, InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import { findByRole, serviceByRole } from "../../project/stack.ts";
import { type ArtifactRecord, artifact, type ComponentRecord } from "../manifest.ts";
import { type Component, type ComponentContext, type Frozen, keptResult, type PreparedRestore, swapping } from "./component.ts";

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
  if (!dump) throw new InvalidBackupError(msg.components.postgres.noDump);
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
    if (expected[k] !== actual[k]) {
      const none = msg.components.common.none;
      diffs.push(msg.components.postgres.countDiff({ table: k.replace(/^table:/, ""), expected: expected[k] ?? none, got: actual[k] ?? none }));
    }
  }
  return diffs;
}

/**
 * A restore killed in the middle of its swap leaves the live database renamed away or
 * refusing connections: put it back before anything else reads it (a dump, the next restore).
 */
export async function recoverSwap(ctx: ComponentContext): Promise<void> {
  const { service, user, db } = names(ctx);
  const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
  const { sql, leftovers, kept = [] } = swapRecovery(db, (await exec(swapStateSql(db))).stdout);
  for (const q of sql) await exec(q);
  if (sql.length > kept.length * 2) ctx.out.warn(msg.components.postgres.halfSwapped({ db }));
  if (kept.length) ctx.out.warn(msg.components.postgres.keptByDead({ kept: kept.join(msg.components.common.listSep) }));
  if (leftovers.length) ctx.out.warn(msg.components.postgres.leftovers({ leftovers: leftovers.join(msg.components.common.listSep) }));
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
    if (r.status === 3) throw new InvalidBackupError(msg.components.postgres.cannotDecode, msg.components.postgres.dumpDamaged);
    if (r.status !== 0)
      throw new ClawError(msg.components.postgres.dumpFailed({ reason: lastLine(r.stderr) }), { hint: msg.components.postgres.dumpFailedHint });
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
    if (rec.kept) {
      await verifyKept(ctx, rec, rec.kept.tag);
      return;
    }
    const { service } = names(ctx);
    const dump = dumpOf(rec);
    const list = await ctx.project.compose.execOrThrowaway(service, listDump(codecOf(dump.file)), {
      stdinFile: join(ctx.dir, dump.file),
      allowFailure: true,
    });
    if (list.status !== 0 || !/Archive created at/.test(list.stdout)) {
      throw new InvalidBackupError(msg.components.postgres.cannotRead({ file: dump.file }), msg.components.postgres.cannotReadHint);
    }
  },

  async drill(ctx, rec) {
    if (rec.kept) return verifyKept(ctx, rec, rec.kept.tag);
    const { service, user } = names(ctx);
    const dump = dumpOf(rec);
    const r = await ctx.project.compose.throwaway(
      ctx.project.effectiveName,
      service,
      drillCommand(user, codecOf(dump.file)),
      { entrypoint: "sh", user: "postgres" },
      { stdinFile: join(ctx.dir, dump.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
    );
    if (r.status !== 0) throw new InvalidBackupError(msg.components.postgres.drillFailed({ reason: lastLine(r.stderr) }));
    const counts = parseCounts(r.stdout);
    const diffs = compareCounts(rec.counts, counts);
    if (diffs.length)
      throw new InvalidBackupError(msg.components.postgres.drillCountsDiffer({ diffs: diffs.slice(0, 3).join(msg.components.common.diffSep) }));
    const rows = Object.values(counts).reduce((s, n) => s + n, 0);
    return msg.components.postgres.drilled({ tables: Object.keys(counts).length, rows });
  },

  // No recoverSwap here: the snapshot's backup() does it, at the same time, before any swap.
  async prepare(ctx, rec, tag) {
    const { service, user, db } = names(ctx);
    const { restored } = restoreNames(db, tag);
    const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
    const discard = async () => {
      await exec(dropDatabaseSql(restored)).catch(() => undefined);
    };
    await exec(dropDatabaseSql(restored));
    if (rec.kept) {
      // From an in-place snapshot: a file-level copy of it (it stays as it is, for another undo).
      const from = keptDatabase(db, rec.kept.tag);
      if (!(await exec(databaseExistsSql(from))).stdout.trim())
        throw new InvalidBackupError(msg.components.postgres.keptGone({ kept: from }), msg.components.common.useAnotherBackup);
      const version = Number((await exec(serverVersionNumSql())).stdout.trim());
      await retryWhileInUse(() => exec(copyDatabaseSql(restored, from, user, version)));
    } else await exec(createDatabaseSql(restored, user));
    try {
      // --exit-on-error: the first error stops the restore; the live database is untouched.
      if (!rec.kept) {
        await ctx.project.compose.exec(
          service,
          restoreDump(codecOf(dumpOf(rec).file), user, restored),
          {},
          { stdinFile: join(ctx.dir, dumpOf(rec).file), timeoutMs: DATA_COMMAND_TIMEOUT_MS },
        );
      }
      const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, restored));
      if (diffs.length)
        throw new RestoreMismatchError(
          "postgres",
          msg.components.postgres.restoredCountsDiffer({ diffs: diffs.slice(0, 3).join(msg.components.common.diffSep) }),
        );
    } catch (e) {
      await discard();
      throw e;
    }
    return { ref: restored, tag, discard };
  },

  ...swapping((ctx, rec, tag) => postgres.prepare!(ctx, rec, tag), swapIn),

  async unmoved(ctx, rec) {
    const { service, user, db } = names(ctx);
    if (!rec.kept || rec.kept.moved) return false;
    return !(await ctx.project.compose.exec(service, psql(user, "postgres", databaseExistsSql(keptDatabase(db, rec.kept.tag))))).stdout.trim();
  },

  // recoverSwap warns itself; a stopped Postgres is recovered by the next run that finds it running (the mark stays).
  async recover(ctx) {
    const pg = findByRole(ctx.project.stack, "postgres");
    if (!pg) return { lines: [] };
    if ((await ctx.project.compose.runningId(pg.name)) == null) return { lines: [], later: true };
    await recoverSwap(ctx);
    return { lines: [] };
  },

  kept: (ctx) =>
    findByRole(ctx.project.stack, "postgres")
      ? [{ what: "postgres", list: () => keptPostgres(ctx), drop: (tags) => dropKeptPostgres(ctx, tags) }]
      : [],
};

/**
 * The swap of a prepared database for the live one. `keep`: what was live stays as the
 * in-place snapshot (its row counts recorded now: the dependents are stopped, nothing
 * writes); otherwise it is dropped once the restored one is live.
 */
async function swapIn(ctx: ComponentContext, rec: ComponentRecord, ready: PreparedRestore, keep: boolean): Promise<Frozen> {
  const { service, user, db } = names(ctx);
  const kept = keptDatabase(db, ready.tag);
  // The working name of what was live, stamped with the tag (YYMMDDHHMMSS) so a leftover names its restore.
  const { old } = restoreNames(db, ready.tag.replace("-", "").slice(2));
  const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
  const counts = keep ? await liveCounts(ctx, service, user, db) : {};
  const version = keep ? (await exec(serverVersionNumSql())).stdout.trim() : "";
  let moved = false;
  return {
    get moved() {
      return moved;
    },
    record: keptResult(
      ready.tag,
      counts,
      { postgres: version },
      `database ${db} kept in place as ${kept} (in the same server: a snapshot to undo a restore, not a copy elsewhere)`,
    ),
    thaw: async () => undefined,
    swap: async () => {
      // A failed step undoes the ones before it: the live database keeps its name and accepts connections again.
      await runUndoable(swapSteps(db, ready.ref, old, keep ? kept : undefined), (sql) => retryWhileInUse(() => exec(sql))).catch(
        async (e: unknown) => {
          await ready.discard();
          throw e;
        },
      );
      moved = keep;
      if (!keep) await exec(dropDatabaseSql(old, { ifExists: false }));
      const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, db));
      if (diffs.length)
        throw new RestoreMismatchError(
          "postgres",
          msg.components.postgres.swapCountsDiffer({ diffs: diffs.slice(0, 3).join(msg.components.common.diffSep) }),
        );
    },
  };
}

/** An in-place snapshot's check: its database is there and holds the rows recorded. */
async function verifyKept(ctx: ComponentContext, rec: ComponentRecord, tag: string): Promise<string> {
  const { service, user, db } = names(ctx);
  const kept = keptDatabase(db, tag);
  const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
  if (!(await exec(databaseExistsSql(kept))).stdout.trim()) {
    if (!rec.kept?.moved) return msg.components.common.unmovedAt({ what: kept });
    throw new InvalidBackupError(msg.components.postgres.keptGone({ kept }), msg.components.common.useAnotherBackup);
  }
  const counts = await liveCounts(ctx, service, user, kept);
  const diffs = compareCounts(rec.counts, counts);
  if (diffs.length)
    throw new InvalidBackupError(msg.components.postgres.keptDiffers({ kept, diffs: diffs.slice(0, 3).join(msg.components.common.diffSep) }));
  const rows = Object.values(counts).reduce((s, n) => s + n, 0);
  return msg.components.postgres.keptOk({ kept, tables: Object.keys(counts).length, rows });
}

/** The in-place snapshots the server holds (their tags), and their removal. */
export async function keptPostgres(ctx: ComponentContext): Promise<string[]> {
  const { service, user, db } = names(ctx);
  const r = await ctx.project.compose.exec(service, psql(user, "postgres", keptDatabasesSql(db)));
  return r.stdout
    .split("\n")
    .map((l) => keptTagOf(db, l.trim()))
    .filter((t): t is string => t !== undefined);
}

export async function dropKeptPostgres(ctx: ComponentContext, tags: readonly string[]): Promise<void> {
  const { service, user, db } = names(ctx);
  for (const t of tags) await ctx.project.compose.exec(service, psql(user, "postgres", dropDatabaseSql(keptDatabase(db, t))));
}
