/**
 * Redis: a fresh RDB from BGSAVE (never a stale dump.rdb), copied out once that very save
 * has completed, and checked with redis-check-rdb.
 *
 * Restore avoids the AOF trap (with `appendonly yes` Redis 7 loads its AOF and ignores
 * dump.rdb): with Redis stopped, a one-off container of the same image puts the RDB in
 * place, starts a private redis-server with AOF off so it loads the RDB, turns AOF on
 * (which rewrites the AOF from the loaded data), waits for the rewrite, checks the key
 * count and shuts down. The real service then starts from that AOF.
 */
import { join } from "node:path";
import {
  checkRdbFromStdin,
  drillCommand,
  keysMatch,
  keyspaceCounts,
  parseCheckRdb,
  parseInfo,
  readFile,
  redisBgsave,
  redisConfigGet,
  redisInfo,
  restoreCommand,
} from "../../commands/redis.ts";
import { sleep } from "../../core/async.ts";
import { ClawError, InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { DATA_COMMAND_TIMEOUT_MS, HOUR_MS } from "../../core/time.ts";
import { serviceByRole } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import type { Component, ComponentContext } from "./component.ts";

export const RDB_FILE = "redis.rdb";

const service = (ctx: ComponentContext) => serviceByRole(ctx.project.stack, "redis").name;
const cli = (ctx: ComponentContext, argv: string[]) => ctx.project.compose.exec(service(ctx), argv);

async function info(ctx: ComponentContext, section: string) {
  return parseInfo((await cli(ctx, redisInfo(section))).stdout);
}

/**
 * BGSAVE and wait until *that* save has completed successfully. Redis 7 counts completed
 * saves (rdb_saves): a higher count is our save, seen at the next poll. Older servers only
 * have LASTSAVE, of one-second resolution: our save must not share the last one's second.
 */
async function freshSave(ctx: ComponentContext): Promise<void> {
  const p0 = await info(ctx, "persistence");
  const savesBefore = p0.rdb_saves === undefined ? undefined : Number(p0.rdb_saves);
  const before = Number(p0.rdb_last_save_time);
  if (savesBefore === undefined && before >= Math.floor(Date.now() / 1000)) await sleep(1100);
  for (let attempt = 0; ; attempt++) {
    const r = await cli(ctx, redisBgsave());
    if (/Background saving started/i.test(r.stdout)) break;
    // Another save or an AOF rewrite is running: wait and ask again.
    if (attempt > 1200) throw new ClawError(`redis: BGSAVE was not accepted: ${r.stdout.trim()}`);
    await sleep(500);
  }
  const deadline = Date.now() + DATA_COMMAND_TIMEOUT_MS;
  for (;;) {
    const p = await info(ctx, "persistence");
    // A failed save does not count in rdb_saves: once no save runs, an error status is ours.
    const ours =
      savesBefore === undefined ? Number(p.rdb_last_save_time) > before : Number(p.rdb_saves) > savesBefore || p.rdb_last_bgsave_status !== "ok";
    if (p.rdb_bgsave_in_progress === "0" && ours) {
      if (p.rdb_last_bgsave_status !== "ok") {
        throw new ClawError("redis: BGSAVE failed (rdb_last_bgsave_status:err)", { hint: "check disk space and `docker compose logs redis`" });
      }
      return;
    }
    if (Date.now() > deadline) throw new ClawError("redis: BGSAVE did not finish in time");
    await sleep(100);
  }
}

async function checkRdb(ctx: ComponentContext, file: string) {
  const r = await ctx.project.compose.execOrThrowaway(service(ctx), checkRdbFromStdin(), { stdinFile: file, allowFailure: true, timeoutMs: HOUR_MS });
  return { ...parseCheckRdb(r.stdout + r.stderr), status: r.status };
}

export const redis: Component = {
  name: "redis",

  async backup(ctx) {
    const svc = service(ctx);
    const cfg = (await cli(ctx, redisConfigGet("dir"))).stdout.trim().split("\n");
    const dbfile = (await cli(ctx, redisConfigGet("dbfilename"))).stdout.trim().split("\n")[1] ?? "dump.rdb";
    const dir = cfg[1] ?? "/data";
    const keyspaceAtSave = keyspaceCounts(await info(ctx, "keyspace"));
    await freshSave(ctx);
    // Redis replaces the RDB by rename, so `cat` reads one complete file even if another save starts.
    await ctx.project.compose.exec(
      svc,
      readFile(`${dir}/${dbfile}`),
      {},
      { stdoutFile: join(ctx.dir, RDB_FILE), timeoutMs: DATA_COMMAND_TIMEOUT_MS },
    );
    const check = await checkRdb(ctx, join(ctx.dir, RDB_FILE));
    if (!check.ok) throw new ClawError("redis: the copied RDB does not pass redis-check-rdb");
    const version = parseInfo((await cli(ctx, redisInfo("server"))).stdout).redis_version ?? "unknown";
    return {
      artifacts: [await artifact(ctx.dir, RDB_FILE)],
      tools: { redis: version },
      counts: { keys: check.keys, expires: check.expires, ...keyspaceAtSave },
      notes: ["RDB from a BGSAVE taken by this backup; keys:dbN are INFO keyspace just before the save"],
    };
  },

  async verify(ctx, rec) {
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError("redis: no RDB in the manifest");
    const check = await checkRdb(ctx, join(ctx.dir, a.file));
    if (!check.ok || check.keys !== rec.counts.keys) {
      throw new InvalidBackupError(`redis: ${a.file} fails redis-check-rdb or holds ${check.keys} keys instead of ${rec.counts.keys}`);
    }
  },

  async drill(ctx, rec) {
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError("redis: no RDB in the manifest");
    const r = await ctx.project.compose.throwaway(
      ctx.project.effectiveName,
      service(ctx),
      drillCommand(),
      { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, a.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
    );
    if (r.status !== 0) throw new InvalidBackupError(`redis: a fresh redis-server cannot load ${a.file}: ${lastLine(r.stderr)}`);
    const perDb = keyspaceCounts(parseInfo(r.stdout));
    const loaded = Object.values(perDb).reduce((s, n) => s + n, 0);
    if (!keysMatch(loaded, rec.counts))
      throw new InvalidBackupError(`redis: a fresh redis-server loaded ${loaded} keys, the manifest says ${rec.counts.keys}`);
    return `loaded by a throwaway redis-server: ${loaded} keys in ${Object.keys(perDb).length} db(s) (manifest ${rec.counts.keys}, ${rec.counts.expires ?? 0} with a TTL)`;
  },

  async restore(ctx, rec) {
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError("redis: no RDB in the manifest");
    const svc = service(ctx);
    const compose = ctx.project.compose;
    const loaded = await compose.whileStopped([svc], async () => {
      const r = await compose.onVolumes(
        svc,
        restoreCommand(),
        { entrypoint: "sh" },
        { stdinFile: join(ctx.dir, a.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS },
      );
      const m = /KEYS (\d+)/.exec(r.stdout);
      if (!m) throw new ClawError("redis: the restore procedure did not report a key count");
      return Number(m[1]);
    });
    // Keys with a TTL may have expired since the backup; nothing else may differ.
    const live = Object.values(keyspaceCounts(await info(ctx, "keyspace"))).reduce((s, n) => s + n, 0);
    if (!keysMatch(loaded, rec.counts) || live !== loaded) {
      throw new RestoreMismatchError("redis", `restored ${live} keys (loaded ${loaded}); the backup holds ${rec.counts.keys ?? 0}`);
    }
  },
};
