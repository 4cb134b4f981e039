import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  CHECK_RDB_SCRIPT,
  checkRdbFromStdin,
  DRILL_SCRIPT,
  drillCommand,
  keysMatch,
  keyspaceCounts,
  parseCheckRdb,
  parseConfigPairs,
  parseInfo,
  REDIS_STAGE_LINES,
  readFile,
  redisBgsave,
  redisCli,
  redisConfigGet,
  redisInfo,
  redisStageLines,
} from "../../../lib/commands/redis.ts";
import { stageScript } from "../../../lib/commands/volume.ts";

const tmpDir = () => mkdtempSync(join(tmpdir(), "claw-redis-"));

import { assertShellSyntax, fakeBin, sh } from "../helpers.ts";

test("INFO is parsed into fields: section headers skipped, CRLF trimmed, values keep their colons", () => {
  const text =
    "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/local/bin/redis-server\r\nconfig_file:\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb2:keys=10,expires=0,avg_ttl=0\r\n";
  assert.deepEqual(parseInfo(text), {
    redis_version: "7.0.15",
    executable: "/usr/local/bin/redis-server",
    config_file: "",
    db0: "keys=3,expires=1,avg_ttl=0",
    db2: "keys=10,expires=0,avg_ttl=0",
  });
});

test("keys per database come from the dbN lines of INFO keyspace only", () => {
  const info = parseInfo(
    "# Keyspace\ndb0:keys=3,expires=1,avg_ttl=0\ndb2:keys=10,expires=0,avg_ttl=0,subexpiry=0\ndbfilename:dump.rdb\nrdb_changes_since_last_save:4\n",
  );
  assert.deepEqual(keyspaceCounts(info), { "keys:db0": 3, "keys:db2": 10 });
  assert.deepEqual(keyspaceCounts(parseInfo("# Keyspace\r\n")), {});
});

test("a loaded key count matches when it lies between the keys without a TTL and all keys", () => {
  assert.equal(keysMatch(10, { keys: 10, expires: 2 }), true);
  assert.equal(keysMatch(8, { keys: 10, expires: 2 }), true, "two keys with a TTL expired since");
  assert.equal(keysMatch(7, { keys: 10, expires: 2 }), false);
  assert.equal(keysMatch(11, { keys: 10, expires: 2 }), false);
  assert.equal(keysMatch(0, {}), true);
});

test("redis-check-rdb's report of a good RDB gives ok, keys read and expires", () => {
  const out = [
    "[offset 0] Checking RDB file dump.rdb",
    "[offset 26] AUX FIELD redis-ver = '7.0.15'",
    "[offset 40] AUX FIELD redis-bits = '64'",
    "[offset 52] AUX FIELD ctime = '1700000000'",
    "[offset 67] AUX FIELD used-mem = '1012312'",
    "[offset 83] AUX FIELD aof-base = '0'",
    "[offset 85] Selecting DB ID 0",
    "[offset 512] Checksum OK",
    "[offset 512] \\o/ RDB looks OK! \\o/",
    "[info] 8 keys read",
    "[info] 3 expires",
    "[info] 0 already expired",
    "",
  ].join("\n");
  assert.deepEqual(parseCheckRdb(out), { ok: true, keys: 8, expires: 3 });
});

test("redis-check-rdb's report of a damaged RDB is not ok", () => {
  const out = [
    "[offset 0] Checking RDB file dump.rdb",
    "--- RDB ERROR DETECTED ---",
    "[offset 9] Wrong signature trying to load DB from file",
    "[additional info] While doing: start",
    "[info] 0 keys read",
    "[info] 0 expires",
    "[info] 0 already expired",
  ].join("\n");
  assert.deepEqual(parseCheckRdb(out), { ok: false, keys: 0, expires: 0 });
  assert.deepEqual(parseCheckRdb("sh: redis-check-rdb: not found"), { ok: false, keys: -1, expires: 0 });
});

test("the redis scripts parse as sh and the restore never flushes", () => {
  const RESTORE_SCRIPT = stageScript("/data", "20261201-120000", REDIS_STAGE_LINES);
  assertShellSyntax(RESTORE_SCRIPT);
  assertShellSyntax(CHECK_RDB_SCRIPT);
  assert.doesNotMatch(RESTORE_SCRIPT, /FLUSHALL/i);
  assert.doesNotMatch(RESTORE_SCRIPT, /FLUSHDB/i);
  assert.match(RESTORE_SCRIPT, /--appendonly no/);
  assert.match(RESTORE_SCRIPT, /config set appendonly yes/);
  assert.match(RESTORE_SCRIPT, /echo "KEYS \$n"\n/);
  // The private server works in the staging dir, never on the live files.
  assert.match(RESTORE_SCRIPT, /--dir "\$PWD"/);
});

test("redis-cli takes its arguments as given, and the RDB is read with cat", () => {
  assert.deepEqual(redisCli(), ["redis-cli"]);
  assert.deepEqual(redisCli("info", "keyspace"), ["redis-cli", "info", "keyspace"]);
  assert.deepEqual(readFile("/data/dump.rdb"), ["cat", "/data/dump.rdb"]);
});

test("the RDB check and the drill are their scripts through sh (the last two as the command of an sh entrypoint)", () => {
  assert.deepEqual(checkRdbFromStdin(), ["sh", "-c", CHECK_RDB_SCRIPT]);
  assert.deepEqual(drillCommand(), ["-c", DRILL_SCRIPT]);
});

test("the RDB check gives redis-check-rdb a private temp file holding stdin, passes its exit status on and removes the file", () => {
  const bin = fakeBin("redis-check-rdb", 'echo "FILE $1 $(stat -c %a "$1")"; cat "$1"; exit 3');
  const r = sh(CHECK_RDB_SCRIPT, { input: "REDIS0011 bytes", path: bin });
  assert.equal(r.status, 3, r.stderr);
  const [first, ...rest] = r.stdout.split("\n");
  const [, file, mode] = first!.split(" ");
  assert.equal(mode, "600");
  assert.ok(file!.startsWith("/tmp/claw-check."), file);
  assert.deepEqual(rest, ["REDIS0011 bytes"]);
  assert.equal(sh(`[ -e '${file}' ]`).status, 1, "the temp file is gone");
});

test("the named redis-cli calls: INFO of a section, CONFIG GET of a key and BGSAVE", () => {
  assert.deepEqual(redisInfo("keyspace"), ["redis-cli", "info", "keyspace"]);
  assert.deepEqual(redisConfigGet("dir"), ["redis-cli", "config", "get", "dir"]);
  assert.deepEqual(redisBgsave(), ["redis-cli", "bgsave"]);
});

test("staged Redis data is what the live server loads at start: the RDB without AOF, a multi-part AOF based on it (a hard link) on Redis 7, the private rewrite before", () => {
  const p = { major: 7, appendonly: true, dbfilename: "dump.rdb", appenddirname: "appendonlydir", appendfilename: "appendonly.aof" };
  assert.deepEqual(redisStageLines({ ...p, appendonly: false }), ["cat > 'dump.rdb'"]);
  assert.deepEqual(redisStageLines({ ...p, major: 6 }), REDIS_STAGE_LINES);
  const seven = redisStageLines(p);
  assert.ok(seven.includes("ln 'dump.rdb' 'appendonlydir/appendonly.aof.1.base.rdb'"));
  const dir = tmpDir();
  const r = spawnSync("sh", ["-c", ["set -eu", `cd '${dir}'`, ...seven].join("\n")], { input: "REDIS0011 rdb bytes", encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    readFileSync(join(dir, "appendonlydir/appendonly.aof.manifest"), "utf8"),
    "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
  );
  assert.equal(readFileSync(join(dir, "appendonlydir/appendonly.aof.1.base.rdb"), "utf8"), "REDIS0011 rdb bytes");
  assert.equal(readFileSync(join(dir, "appendonlydir/appendonly.aof.1.incr.aof"), "utf8"), "");
  assert.throws(() => redisStageLines({ ...p, appenddirname: "../x" }), /unexpected file name/);
  assert.throws(() => redisStageLines({ ...p, dbfilename: "a'b" }), /unexpected file name/);
});

test("CONFIG GET's alternate lines are read as name and value", () => {
  assert.deepEqual(parseConfigPairs("appendonly\r\nyes\r\nappenddirname\r\nappendonlydir\r\n"), {
    appendonly: "yes",
    appenddirname: "appendonlydir",
  });
  assert.deepEqual(parseConfigPairs(""), {});
});
