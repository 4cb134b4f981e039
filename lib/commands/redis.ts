/**
 * Redis commands as argv: redis-cli, redis-check-rdb and the sh procedures of the restore
 * and the drill, plus the parsers of their output. Pure: no I/O, no quoting.
 */
import { msg } from "../core/i18n/index.ts";

export const redisCli = (...args: string[]) => ["redis-cli", ...args];
export const redisInfo = (section: string) => redisCli("info", section);
export const redisConfigGet = (key: string) => redisCli("config", "get", key);
export const redisConfigSet = (key: string, value: string) => redisCli("config", "set", key, value);
export const redisBgsave = () => redisCli("bgsave");

/** argv: the RDB file to stdout (Redis replaces it by rename, so this reads one whole file). */
export const readFile = (path: string) => ["cat", path];

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** CONFIG GET's reply as name → value (redis-cli prints them on alternate lines). */
export function parseConfigPairs(text: string): Record<string, string> {
  const lines = text.replace(/\r/g, "").split("\n");
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
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

/** Keys with a TTL per db from INFO keyspace ("db0:keys=3,expires=1,avg_ttl=0"). */
export function expiresCounts(info: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(k);
    const e = /expires=(\d+)/.exec(v);
    if (m && e) out[`expires:db${m[1]}`] = Number(e[1]);
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
 * Lines for volume.ts' stageScript (run in the staging dir inside the data volume, in a
 * one-off container of the redis service; Redis itself may be running). The RDB arrives on
 * stdin; a private redis-server loads it with AOF off, turns AOF on (which rewrites the AOF
 * from the loaded data), waits for the rewrite and shuts down, so the staged dir holds the
 * RDB and an AOF of the same data. Prints "KEYS <n>" (all dbs).
 */
export const REDIS_STAGE_LINES = [
  "cat > dump.rdb",
  'set -- --port 0 --unixsocket /tmp/claw-restore.sock --dir "$PWD" --dbfilename dump.rdb --appendonly no --save ""',
  // No password on the private server: it listens on this one-off container's unix socket only,
  // and a password on its command line would show in the host's ps (requirepass is
  // configuration, not data: nothing of it is in the RDB or the AOF).
  "unset REDISCLI_AUTH",
  'redis-server "$@" --daemonize yes --pidfile /tmp/claw-restore.pid --logfile /tmp/claw-restore.log',
  'cli() { redis-cli -s /tmp/claw-restore.sock "$@"; }',
  "i=0; until cli ping 2>/dev/null | grep -q PONG; do i=$((i+1)); [ $i -lt 3000 ] || { cat /tmp/claw-restore.log >&2; exit 1; }; sleep 0.2; done",
  "cli config set appendonly yes >/dev/null",
  "i=0; while :; do",
  "  info=$(cli info persistence | tr -d '\\r')",
  "  echo \"$info\" | grep -q '^aof_rewrite_in_progress:0' && echo \"$info\" | grep -q '^aof_rewrite_scheduled:0' && echo \"$info\" | grep -q '^aof_enabled:1' && echo \"$info\" | grep -q '^aof_last_bgrewrite_status:ok' && break",
  "  i=$((i+1)); [ $i -lt 6000 ] || { echo 'AOF rewrite did not finish' >&2; exit 1; }; sleep 0.2",
  "done",
  "n=$(cli info keyspace | tr -d '\\r' | sed -n 's/^db[0-9]*:keys=\\([0-9]*\\).*/\\1/p' | awk '{s+=$1} END {print s+0}')",
  "cli shutdown nosave >/dev/null 2>&1 || true",
  'i=0; while [ -e /tmp/claw-restore.pid ] && kill -0 "$(cat /tmp/claw-restore.pid)" 2>/dev/null; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done',
  "ls appendonlydir >/dev/null",
  'echo "KEYS $n"',
];

/** How the live server persists: what the staged data must look like for it to load it at start. */
export interface RedisPersistence {
  major: number;
  appendonly: boolean;
  dbfilename: string;
  appenddirname: string;
  appendfilename: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

/**
 * Pure: the staging lines for the live server's persistence (run in the staging dir, the RDB
 * on stdin). Without AOF, the RDB is what it loads. Redis 7 with AOF loads a multi-part AOF:
 * its manifest names a base file, which may be an RDB, and an incr file; the RDB becomes the
 * base (a hard link: no copy) with an empty incr, as Redis itself writes them after a
 * rewrite. Older servers with AOF get the private server's rewrite (REDIS_STAGE_LINES).
 */
export function redisStageLines(p: RedisPersistence): readonly string[] {
  for (const n of [p.dbfilename, p.appenddirname, p.appendfilename])
    if (!SAFE_NAME.test(n)) throw new Error(msg.project.commands.redis.unexpectedFileName({ name: JSON.stringify(n) }));
  if (!p.appendonly) return [`cat > '${p.dbfilename}'`];
  if (p.major < 7) return REDIS_STAGE_LINES;
  const base = `${p.appendfilename}.1.base.rdb`;
  const incr = `${p.appendfilename}.1.incr.aof`;
  return [
    `cat > '${p.dbfilename}'`,
    `mkdir '${p.appenddirname}'`,
    `ln '${p.dbfilename}' '${p.appenddirname}/${base}'`,
    `: > '${p.appenddirname}/${incr}'`,
    `printf 'file %s seq 1 type b\\nfile %s seq 1 type i\\n' '${base}' '${incr}' > '${p.appenddirname}/${p.appendfilename}.manifest'`,
  ];
}

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

/** argv: redis-check-rdb of an RDB read from stdin. */
export const checkRdbFromStdin = () => ["sh", "-c", CHECK_RDB_SCRIPT];

/** The command of a throwaway drill container (entrypoint sh): see DRILL_SCRIPT. */
export const drillCommand = () => ["-c", DRILL_SCRIPT];
