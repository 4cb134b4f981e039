/**
 * Redis: a fresh RDB from BGSAVE (never a stale dump.rdb), copied out once that very save
 * has completed, and checked with redis-check-rdb.
 *
 * Restore avoids the AOF trap (with `appendonly yes` Redis 7 loads its AOF and ignores
 * dump.rdb): while Redis still runs, a one-off container of the same image stages the RDB
 * beside the live data in the volume as what the server loads at start: the RDB itself
 * without AOF; with AOF on Redis 7, a multi-part AOF whose base is the RDB; on older
 * servers, an AOF rewritten by a private redis-server that loaded the RDB. Then Redis is
 * stopped, the staged data swapped in by renames (what it replaces kept as an in-place
 * snapshot, or removed) and the real service starts from it; its key count is checked.
 */
import { join } from "node:path";
import {
  checkRdbFromStdin,
  drillCommand,
  expiresCounts,
  keysMatch,
  keyspaceCounts,
  parseCheckRdb,
  parseConfigPairs,
  parseInfo,
  type RedisPersistence,
  readFile,
  redisBgsave,
  redisConfigGet,
  redisConfigSet,
  redisInfo,
  redisStageLines,
} from "../../commands/redis.ts";
import { keptName } from "../../commands/volume.ts";
import { sleep } from "../../core/async.ts";
import { ClawError, InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { DATA_COMMAND_TIMEOUT_MS, HOUR_MS } from "../../core/time.ts";
import { serviceByRole } from "../../project/stack.ts";
import { artifact, type ComponentRecord } from "../manifest.ts";
import { type Component, type ComponentContext, type Frozen, keptResult, type PreparedRestore, swapping } from "./component.ts";
import { armSwap, fingerprintDiffers, keptFingerprint, keptInVolumes, recoverVolume, recoverVolumes, stageVolume, unstageVolume } from "./volume.ts";

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
    if (attempt > 1200) throw new ClawError(msg.components.redis.bgsaveRefused({ reply: r.stdout.trim() }));
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
        throw new ClawError(msg.components.redis.bgsaveFailed, { hint: msg.components.redis.bgsaveFailedHint });
      }
      return;
    }
    if (Date.now() > deadline) throw new ClawError(msg.components.redis.bgsaveSlow);
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
    if (!check.ok) throw new ClawError(msg.components.redis.copyBad);
    const version = parseInfo((await cli(ctx, redisInfo("server"))).stdout).redis_version ?? "unknown";
    return {
      artifacts: [await artifact(ctx.dir, RDB_FILE)],
      tools: { redis: version },
      counts: { keys: check.keys, expires: check.expires, ...keyspaceAtSave },
      notes: ["RDB from a BGSAVE taken by this backup; keys:dbN are INFO keyspace just before the save"],
    };
  },

  async verify(ctx, rec) {
    if (rec.kept) {
      await verifyKept(ctx, rec, rec.kept.tag);
      return;
    }
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError(msg.components.redis.noRdb);
    const check = await checkRdb(ctx, join(ctx.dir, a.file));
    if (!check.ok || check.keys !== rec.counts.keys) {
      throw new InvalidBackupError(msg.components.redis.checkFailed({ file: a.file, keys: check.keys, want: rec.counts.keys }));
    }
  },

  async drill(ctx, rec) {
    if (rec.kept) return verifyKept(ctx, rec, rec.kept.tag);
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError(msg.components.redis.noRdb);
    const r = await ctx.project.compose.throwaway(
      ctx.project.effectiveName,
      service(ctx),
      drillCommand(),
      { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, a.file), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
    );
    if (r.status !== 0) throw new InvalidBackupError(msg.components.redis.cannotLoad({ file: a.file, reason: lastLine(r.stderr) }));
    const perDb = keyspaceCounts(parseInfo(r.stdout));
    const loaded = Object.values(perDb).reduce((s, n) => s + n, 0);
    if (!keysMatch(loaded, rec.counts)) throw new InvalidBackupError(msg.components.redis.loadedDiffer({ loaded, want: rec.counts.keys }));
    return msg.components.redis.drilled({ loaded, dbs: Object.keys(perDb).length, keys: rec.counts.keys, expires: rec.counts.expires ?? 0 });
  },

  async prepare(ctx, rec, tag) {
    const svc = serviceByRole(ctx.project.stack, "redis");
    const compose = ctx.project.compose;
    const discard = () => unstageVolume(compose, svc, tag);
    try {
      if (rec.kept) {
        const staged = await stageVolume(compose, svc, tag, { kept: rec.kept.tag });
        const differs = fingerprintDiffers("redis", { now: staged, recorded: staged.recorded });
        if (differs) throw new InvalidBackupError(differs);
      } else {
        const a = rdbOf(rec);
        const staged = await stageVolume(compose, svc, tag, { file: join(ctx.dir, a.file) }, redisStageLines(await persistence(ctx)));
        // Staged through a private server (older Redis with AOF): it counted what it loaded.
        const m = /KEYS (\d+)/.exec(staged.stdout);
        if (m && !keysMatch(Number(m[1]), rec.counts))
          throw new RestoreMismatchError("redis", msg.components.redis.stagedDiffer({ keys: m[1]!, want: rec.counts.keys ?? 0 }));
      }
    } catch (e) {
      await discard();
      throw e;
    }
    return { ref: tag, tag, discard };
  },

  ...swapping((ctx, rec, tag) => redis.prepare!(ctx, rec, tag), swapIn),

  async unmoved(ctx, rec) {
    if (!rec.kept || rec.kept.moved) return false;
    return (await keptFingerprint(ctx.project.compose, serviceByRole(ctx.project.stack, "redis"), rec.kept.tag)) === undefined;
  },

  recover: (ctx) => recoverVolumes(ctx, ["redis"]),
  kept: (ctx) => keptInVolumes(ctx, ["redis"]),
};

/** The live server's version and persistence settings (it runs while a restore is prepared). */
async function persistence(ctx: ComponentContext): Promise<RedisPersistence> {
  // Globs, at the same time (CONFIG GET of several names needs Redis 7); never `*`, whose reply holds requirepass.
  const [append, db, server] = await Promise.all([
    cli(ctx, redisConfigGet("append*")),
    cli(ctx, redisConfigGet("dbfilename")),
    cli(ctx, redisInfo("server")),
  ]);
  const c = { ...parseConfigPairs(append.stdout), ...parseConfigPairs(db.stdout) };
  const version = parseInfo(server.stdout).redis_version ?? "0";
  return {
    major: Number.parseInt(version, 10) || 0,
    appendonly: c.appendonly === "yes",
    dbfilename: c.dbfilename || "dump.rdb",
    appenddirname: c.appenddirname || "appendonlydir",
    appendfilename: c.appendfilename || "appendonly.aof",
  };
}

function rdbOf(rec: ComponentRecord) {
  const a = rec.artifacts[0];
  if (!a) throw new InvalidBackupError(msg.components.redis.noRdb);
  return a;
}

/**
 * Redis stopped (on SIGTERM it writes out its AOF and RDB) for the swap; with `keep`, its key
 * counts (the dependents are stopped: nothing writes) and server info read first, for the
 * in-place snapshot's record. A failure cancels the armed swap and starts Redis again.
 */
async function stopForSwap(
  ctx: ComponentContext,
  armed: ReturnType<typeof armSwap>,
  keep: boolean,
): Promise<{ keyspace: Record<string, string>; server: Record<string, string> }> {
  const svc = serviceByRole(ctx.project.stack, "redis");
  const compose = ctx.project.compose;
  try {
    const [keyspace, server, append, save] = await Promise.all([
      keep ? info(ctx, "keyspace") : Promise.resolve({}),
      keep ? info(ctx, "server") : Promise.resolve({}),
      cli(ctx, redisConfigGet("appendonly")),
      cli(ctx, redisConfigGet("save")),
    ]);
    // With AOF on, the AOF Redis flushes when stopped holds everything: the RDB it would also
    // write on the way down (its save points) is not needed, and costs seconds on a big set.
    // A runtime setting only: the next start reads the service's own configuration again
    // (and a stop that fails puts it back).
    const aof = parseConfigPairs(append.stdout).appendonly === "yes";
    if (aof) await cli(ctx, redisConfigSet("save", ""));
    // Its fingerprint is recorded inside what the swap moves aside (swapScript).
    await compose.stop([svc.name]).catch(async (e: unknown) => {
      if (aof) await cli(ctx, redisConfigSet("save", parseConfigPairs(save.stdout).save ?? "")).catch(() => undefined);
      throw e;
    });
    return { keyspace, server };
  } catch (e) {
    await armed.cancel();
    await compose.startReady([svc.name]);
    throw e;
  }
}

/**
 * Redis stopped, the staged data swapped in by renames. `keep`: what it replaces stays in the
 * volume as the in-place snapshot, its key count and fingerprint recorded.
 */
async function swapIn(ctx: ComponentContext, rec: ComponentRecord, ready: PreparedRestore, keep: boolean): Promise<Frozen> {
  const svc = serviceByRole(ctx.project.stack, "redis");
  const compose = ctx.project.compose;
  const armed = armSwap(compose, svc, ready.tag, keep, ctx.project.root);
  const { keyspace: info0, server } = await stopForSwap(ctx, armed, keep);
  const version = server.redis_version ?? "unknown";
  let moved = false;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((s, n) => s + n, 0);
  return {
    record: keptResult(
      ready.tag,
      keep ? { keys: sum(keyspaceCounts(info0)), expires: sum(expiresCounts(info0)) } : {},
      { redis: version },
      `the data volume's content kept in place as ${keptName(ready.tag)} (in the same volume: a snapshot to undo a restore, not a copy elsewhere)`,
    ),
    get moved() {
      return moved;
    },
    thaw: async () => {
      await armed.cancel();
      await compose.startReady([svc.name]);
    },
    swap: async () => {
      try {
        await armed.go().catch(async (e: unknown) => {
          // Put back together whatever the failed swap left half-moved before Redis reads it.
          await recoverVolume(compose, svc);
          throw e;
        });
        moved = keep;
      } finally {
        await compose.startReady([svc.name]);
      }
      // Keys with a TTL may have expired since the backup; nothing else may differ.
      const live = sum(keyspaceCounts(await info(ctx, "keyspace")));
      if (!keysMatch(live, rec.counts))
        throw new RestoreMismatchError("redis", msg.components.redis.restoredDiffer({ keys: live, want: rec.counts.keys ?? 0 }));
    },
  };
}

/** An in-place snapshot's check: its files, as recorded. */
async function verifyKept(ctx: ComponentContext, rec: ComponentRecord, tag: string): Promise<string> {
  const svc = serviceByRole(ctx.project.stack, "redis");
  const got = await keptFingerprint(ctx.project.compose, svc, tag);
  if (!got && !rec.kept?.moved) return msg.components.common.unmovedAt({ what: keptName(tag) });
  const differs = fingerprintDiffers("redis", got);
  if (differs) throw new InvalidBackupError(differs, msg.components.common.useAnotherBackup);
  return msg.components.redis.keptOk({ kept: keptName(tag), files: got!.now.files, bytes: got!.now.bytes, keys: rec.counts.keys ?? 0 });
}
