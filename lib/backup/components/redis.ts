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
import { ClawError, InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { serviceByRole } from "../../project/stack.ts";
import type { Component, ComponentContext } from "./component.ts";
import { artifact } from "../manifest.ts";

export const RDB_FILE = "redis.rdb";

// ---- pure parsing and builders ----------------------------------------------------------------
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Keys per db from INFO keyspace ("db0:keys=3,expires=1,avg_ttl=0"). */
export function keyspaceCounts(info: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(k);
    const keys = /keys=(\d+)/.exec(v);
    if (m && keys) out[`keys:db${m[1]}`] = Number(keys[1]);
  }
  return out;
}

/** redis-check-rdb's summary: keys read and keys with an expiry. */
export function parseCheckRdb(text: string): { ok: boolean; keys: number; expires: number } {
  const keys = /(\d+) keys read/.exec(text);
  const expires = /(\d+) expires/.exec(text);
  return { ok: /RDB looks OK/.test(text), keys: keys ? Number(keys[1]) : -1, expires: expires ? Number(expires[1]) : 0 };
}

/** Checks an RDB read from stdin (redis-check-rdb needs a file: a private temp file in the container). */
export const CHECK_RDB_SCRIPT = 'f=$(mktemp /tmp/claw-check.XXXXXX) && cat > "$f" && redis-check-rdb "$f"; s=$?; rm -f "$f"; exit $s';

/**
 * The restore procedure run in a one-off container of the redis service (data volume
 * mounted at /data, Redis itself stopped). The RDB arrives on stdin.
 * Prints "KEYS <n>" (all dbs) when done.
 */
export const RESTORE_SCRIPT = [
  "set -eu",
  "cd /data",
  "cat > restore.rdb.tmp",
  "rm -rf appendonlydir appendonly.aof dump.rdb",
  "mv restore.rdb.tmp dump.rdb",
  // The private server listens on a unix socket only, with the service's own password.
  'set -- --port 0 --unixsocket /tmp/claw-restore.sock --dir /data --dbfilename dump.rdb --appendonly no --save ""',
  'if [ -n "${REDISCLI_AUTH:-}" ]; then set -- "$@" --requirepass "$REDISCLI_AUTH"; fi',
  'redis-server "$@" --daemonize yes --pidfile /tmp/claw-restore.pid --logfile /tmp/claw-restore.log',
  "cli() { redis-cli -s /tmp/claw-restore.sock \"$@\"; }",
  "i=0; until cli ping 2>/dev/null | grep -q PONG; do i=$((i+1)); [ $i -lt 3000 ] || { cat /tmp/claw-restore.log >&2; exit 1; }; sleep 0.2; done",
  "cli config set appendonly yes >/dev/null",
  "i=0; while :; do",
  "  info=$(cli info persistence | tr -d '\\r')",
  "  echo \"$info\" | grep -q '^aof_rewrite_in_progress:0' && echo \"$info\" | grep -q '^aof_rewrite_scheduled:0' && echo \"$info\" | grep -q '^aof_enabled:1' && echo \"$info\" | grep -q '^aof_last_bgrewrite_status:ok' && break",
  "  i=$((i+1)); [ $i -lt 6000 ] || { echo 'AOF rewrite did not finish' >&2; exit 1; }; sleep 0.2",
  "done",
  "n=$(cli info keyspace | tr -d '\\r' | sed -n 's/^db[0-9]*:keys=\\([0-9]*\\).*/\\1/p' | awk '{s+=$1} END {print s+0}')",
  "cli shutdown nosave >/dev/null 2>&1 || true",
  "i=0; while [ -e /tmp/claw-restore.pid ] && kill -0 \"$(cat /tmp/claw-restore.pid)\" 2>/dev/null; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done",
  "ls appendonlydir >/dev/null",
  'echo "KEYS $n"',
].join("\n");

/**
 * Restore drill in a throwaway container of the live image: the RDB from stdin loaded by a
 * private redis-server (unix socket only, no AOF, no saves), then INFO keyspace.
 */
export const DRILL_SCRIPT = [
  "set -eu",
  "D=$(mktemp -d /tmp/claw-drill.XXXXXX)",
  'cat > "$D/dump.rdb"',
  'redis-server --port 0 --unixsocket "$D/s.sock" --dir "$D" --dbfilename dump.rdb --appendonly no --save "" --daemonize yes --pidfile "$D/pid" --logfile "$D/log"',
  'i=0; until redis-cli -s "$D/s.sock" ping 2>/dev/null | grep -q PONG; do i=$((i+1)); [ $i -lt 18000 ] || { cat "$D/log" >&2; exit 1; }; sleep 0.2; done',
  'redis-cli -s "$D/s.sock" info keyspace',
  'redis-cli -s "$D/s.sock" shutdown nosave >/dev/null 2>&1 || true',
].join("\n");

/** Pure: is a loaded key count what the backup holds (keys with a TTL may have expired since)? */
export function keysMatch(loaded: number, counts: Record<string, number>): boolean {
  const expected = counts.keys ?? 0;
  return loaded <= expected && loaded >= expected - (counts.expires ?? 0);
}

// ---- the component --------------------------------------------------------------------------------
const service = (ctx: ComponentContext) => serviceByRole(ctx.project.stack, "redis").name;
const cli = (ctx: ComponentContext, args: string[]) => ctx.project.compose.exec(service(ctx), ["redis-cli", ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function info(ctx: ComponentContext, section: string) {
  return parseInfo((await cli(ctx, ["info", section])).stdout);
}

/** BGSAVE and wait until *that* save has completed successfully. */
async function freshSave(ctx: ComponentContext): Promise<void> {
  const before = Number((await cli(ctx, ["lastsave"])).stdout.trim());
  // LASTSAVE has one-second resolution: make sure our save cannot share the last one's second.
  if (before >= Math.floor(Date.now() / 1000)) await sleep(1100);
  for (let attempt = 0; ; attempt++) {
    const r = await cli(ctx, ["bgsave"]);
    if (/Background saving started/i.test(r.stdout)) break;
    // Another save or an AOF rewrite is running: wait and ask again.
    if (attempt > 1200) throw new ClawError(`redis: BGSAVE was not accepted: ${r.stdout.trim()}`);
    await sleep(500);
  }
  const deadline = Date.now() + 6 * 3600_000;
  for (;;) {
    const p = await info(ctx, "persistence");
    if (p.rdb_bgsave_in_progress === "0" && Number(p.rdb_last_save_time) > before) {
      if (p.rdb_last_bgsave_status !== "ok") {
        throw new ClawError("redis: BGSAVE failed (rdb_last_bgsave_status:err)", { hint: "check disk space and `docker compose logs redis`" });
      }
      return;
    }
    if (Date.now() > deadline) throw new ClawError("redis: BGSAVE did not finish in time");
    await sleep(200);
  }
}

async function checkRdb(ctx: ComponentContext, file: string) {
  const r = await ctx.project.compose.exec(service(ctx), ["sh", "-c", CHECK_RDB_SCRIPT], {}, { stdinFile: file, allowFailure: true, timeoutMs: 3600_000 });
  return { ...parseCheckRdb(r.stdout + r.stderr), status: r.status };
}

export const redis: Component = {
  name: "redis",

  async backup(ctx) {
    const svc = service(ctx);
    const cfg = (await cli(ctx, ["config", "get", "dir"])).stdout.trim().split("\n");
    const dbfile = (await cli(ctx, ["config", "get", "dbfilename"])).stdout.trim().split("\n")[1] ?? "dump.rdb";
    const dir = cfg[1] ?? "/data";
    const keyspaceAtSave = keyspaceCounts(await info(ctx, "keyspace"));
    await freshSave(ctx);
    // Redis replaces the RDB by rename, so `cat` reads one complete file even if another save starts.
    await ctx.project.compose.exec(svc, ["cat", `${dir}/${dbfile}`], {}, { stdoutFile: join(ctx.dir, RDB_FILE), timeoutMs: 6 * 3600_000 });
    const check = await checkRdb(ctx, join(ctx.dir, RDB_FILE));
    if (!check.ok) throw new ClawError("redis: the copied RDB does not pass redis-check-rdb");
    const version = parseInfo((await cli(ctx, ["info", "server"])).stdout).redis_version ?? "unknown";
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
    const r = await ctx.project.compose.throwaway(ctx.project.effectiveName, service(ctx), ["-c", DRILL_SCRIPT], { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, a.file), timeoutMs: 6 * 3600_000, allowFailure: true });
    if (r.status !== 0) throw new InvalidBackupError(`redis: a fresh redis-server cannot load ${a.file}: ${lastLine(r.stderr)}`);
    const perDb = keyspaceCounts(parseInfo(r.stdout));
    const loaded = Object.values(perDb).reduce((s, n) => s + n, 0);
    if (!keysMatch(loaded, rec.counts)) throw new InvalidBackupError(`redis: a fresh redis-server loaded ${loaded} keys, the manifest says ${rec.counts.keys}`);
    return `loaded by a throwaway redis-server: ${loaded} keys in ${Object.keys(perDb).length} db(s) (manifest ${rec.counts.keys}, ${rec.counts.expires ?? 0} with a TTL)`;
  },

  async restore(ctx, rec) {
    const a = rec.artifacts[0];
    if (!a) throw new InvalidBackupError("redis: no RDB in the manifest");
    const svc = service(ctx);
    const compose = ctx.project.compose;
    await compose.stop([svc]);
    let loaded: number;
    try {
      const r = await compose.runOnce(svc, ["-c", RESTORE_SCRIPT], { entrypoint: "sh", noDeps: true }, { stdinFile: join(ctx.dir, a.file), timeoutMs: 6 * 3600_000 });
      const m = /KEYS (\d+)/.exec(r.stdout);
      if (!m) throw new ClawError("redis: the restore procedure did not report a key count");
      loaded = Number(m[1]);
    } finally {
      await compose.up({ services: [svc], wait: true, noDeps: true });
    }
    // Keys with a TTL may have expired since the backup; nothing else may differ.
    const live = Object.values(keyspaceCounts(await info(ctx, "keyspace"))).reduce((s, n) => s + n, 0);
    if (!keysMatch(loaded, rec.counts) || live !== loaded) {
      throw new PreconditionError(`redis: restored ${live} keys (loaded ${loaded}); the backup holds ${rec.counts.keys ?? 0}`);
    }
  },
};
