import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync,
  symlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import * as tar from "tar";
import type { ComponentContext } from "../../lib/backup/components/component.ts";
import { composeInputChanged, config, CONFIG_FILE, configFiles, restoreConfigFiles, servicesMounting } from "../../lib/backup/components/config.ts";
import { selectComponents } from "../../lib/backup/registry.ts";
import { DEPENDENT_ROLES, describePlan, type RestorePlan } from "../../lib/restore/plan.ts";
import type { ComponentRecord, Manifest } from "../../lib/backup/manifest.ts";
import { ETCD_DRILL_SCRIPT, ETCD_RESTORE_SCRIPT, etcdKeyCount, etcdSnapshotSave, etcdSnapshotStatus, parseSnapshotStatus } from "../../lib/commands/etcd.ts";
import { MINIO_READY_CHECK } from "../../lib/commands/minio.ts";
import { compareCounts } from "../../lib/backup/components/postgres.ts";
import { DRILL_SCRIPT as PG_DRILL_SCRIPT, DUMP_AND_COUNT_SCRIPT, withDump, type Codec, DUMP_ROW_COUNT_SCRIPT, parseDumpCounts, parseCounts, pgDump, pgDumpGlobals, swapSql } from "../../lib/commands/postgres.ts";
import { CHECK_RDB_SCRIPT, DRILL_SCRIPT as REDIS_DRILL_SCRIPT, keysMatch, keyspaceCounts, parseCheckRdb, parseInfo, RESTORE_SCRIPT } from "../../lib/commands/redis.ts";
import { summarise, unsafeReason, uploads, UPLOADS_FILE } from "../../lib/backup/components/uploads.ts";
import { archiveScript, drillScript, OUT_MOUNT, parseStats, replaceScript, statsScript } from "../../lib/commands/volume.ts";
import { ClawError, ExitCode, PreconditionError, UsageError } from "../../lib/core/errors.ts";
import { settleAll } from "../../lib/core/async.ts";
import { movedBytes, releasing } from "../../lib/core/memory.ts";
import { loadStack } from "../../lib/project/stack.ts";
import { expectError } from "./expect-error.ts";

const ROOT = join(import.meta.dirname, "../..");
const stack = loadStack([join(ROOT, "docker-compose.prod.yml")]);

const made: string[] = [];
after(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
const tmp = (prefix: string) => { const d = mkdtempSync(join(tmpdir(), `claw-${prefix}-`)); made.push(d); return d; };

function write(root: string, rel: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text, { mode });
  chmodSync(join(root, rel), mode);
}

function sh(script: string, o: { input?: string | Buffer; path?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync("sh", ["-c", script], {
    input: o.input ?? "",
    encoding: "utf8",
    env: { ...process.env, ...(o.path ? { PATH: `${o.path}:${process.env.PATH}` } : {}) },
  });
}

/** `sh -n`: the script parses. */
function assertShellSyntax(script: string): void {
  const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

/** A directory on PATH holding one fake command. */
function fakeBin(name: string, body: string): string {
  const bin = tmp("bin");
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bin;
}

/** Every path under a directory, relative, sorted, dirs with a trailing slash. */
function tree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const s = lstatSync(join(dir, r));
    if (s.isDirectory()) out.push(`${r}/`, ...tree(dir, r));
    else if (s.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(join(dir, r))}`);
    else out.push(`${r}: ${readFileSync(join(dir, r), "utf8")}`);
  }
  return out;
}

const usageError = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

// ---- postgres -------------------------------------------------------------------------------

const AWK_PROGRAM = DUMP_ROW_COUNT_SCRIPT.slice(DUMP_ROW_COUNT_SCRIPT.indexOf("awk '") + "awk '".length, DUMP_ROW_COUNT_SCRIPT.lastIndexOf("'"));
const countRows = (input: string) => spawnSync("awk", [AWK_PROGRAM], { input, encoding: "utf8" });

/** What `pg_restore --data-only --file=-` prints for a small database. */
const DATA_ONLY = [
  "--",
  "-- PostgreSQL database dump",
  "--",
  "SET statement_timeout = 0;",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  "",
  "--",
  "-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: claw",
  "--",
  "",
  "COPY public.users (id, name) FROM stdin;",
  "1\talice",
  "2\tbob",
  "\\.",
  "",
  "COPY public.empty (id) FROM stdin;",
  "\\.",
  "",
  'COPY public."my table" (id, "odd col") FROM stdin;',
  "1\tends with a backslash-dot \\\\.",
  "2\t\\N",
  "3\tline\\nbreak",
  "\\.",
  "",
  "COPY audit.log FROM stdin;",
  "x",
  "\\.",
  "",
  "SELECT pg_catalog.setval('public.users_id_seq', 2, true);",
  "",
].join("\n");

test("the dump row-count script is sh, pg_restore's data section piped into awk", () => {
  assert.ok(DUMP_ROW_COUNT_SCRIPT.startsWith("{ pg_restore --data-only --file=- || echo __PG_RESTORE_FAILED__; } | awk '"));
  assertShellSyntax(DUMP_ROW_COUNT_SCRIPT);
});

test("the dump row-count awk program counts the rows of every COPY block, empty and quoted tables included", () => {
  const r = countRows(DATA_ONLY);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'public.users\t2\npublic.empty\t0\npublic."my table"\t3\naudit.log\t1\n');
  assert.deepEqual(parseCounts(r.stdout), { "table:public.users": 2, "table:public.empty": 0, 'table:public."my table"': 3, "table:audit.log": 1 });
});

test("the dump row-count script prints the counts through sh when pg_restore succeeds", () => {
  const bin = fakeBin("pg_restore", `cat <<'EOF'\n${DATA_ONLY}\nEOF`);
  const r = sh(DUMP_ROW_COUNT_SCRIPT, { path: bin });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'public.users\t2\npublic.empty\t0\npublic."my table"\t3\naudit.log\t1\n');
});

/** Runs the dump-and-count script with a fake pg_restore (decodes = cat) and "$@" = the given dump command. */
function dumpAndCount(restoreBody: string, dumpCmd: string[], codec: Codec = "none"): SpawnSyncReturns<Buffer> {
  const bin = fakeBin("pg_restore", restoreBody);
  return spawnSync("sh", ["-c", DUMP_AND_COUNT_SCRIPT, "claw-dump", codec, ...dumpCmd], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

test("dump and count in one pass: the dump goes to stdout unchanged, the counts of the same bytes to stderr", () => {
  const r = dumpAndCount("cat", ["printf", "%s\n", DATA_ONLY]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.stdout.toString(), DATA_ONLY + "\n");
  assert.deepEqual(parseDumpCounts(r.stderr.toString()), { "table:public.users": 2, "table:public.empty": 0, 'table:public."my table"': 3, "table:audit.log": 1 });
});

test("with zstd the dump goes out compressed, the counter still reads it uncompressed, and feed() brings it back", () => {
  const r = dumpAndCount("cat", ["printf", "%s\n", DATA_ONLY], "zstd");
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(spawnSync("zstd", ["-dc"], { input: r.stdout }).stdout.toString(), DATA_ONLY + "\n");
  assert.equal(parseDumpCounts(r.stderr.toString())["table:public.users"], 2);
  const [sh0, ...args] = withDump("zstd", ["cat"]);
  const back = spawnSync(sh0!, args, { input: r.stdout });
  assert.equal(back.status, 0, back.stderr.toString());
  assert.equal(back.stdout.toString(), DATA_ONLY + "\n");
  assert.deepEqual(withDump("none", ["pg_restore", "--list"]).slice(-3), ["none", "pg_restore", "--list"]);
});

test("feed() fails a damaged zstd dump with exit 4 even when the reader stops after the first bytes", () => {
  const packed = spawnSync("zstd", ["-q", "-c"], { input: Buffer.alloc(4 << 20, "x") }).stdout;
  packed[packed.length - 6] = packed[packed.length - 6]! ^ 0xff;
  const [sh0, ...args] = withDump("zstd", ["head", "-c", "10"]);
  const r = spawnSync(sh0!, args, { input: packed });
  assert.equal(r.status, 4, r.stderr.toString());
  assert.match(r.stderr.toString(), /does not decompress/);
});

test("dump and count: a failing dump exits 1, a dump that does not decode exits 3, and no temp dir is left", () => {
  const before = readdirSync("/tmp").filter((n) => n.startsWith("claw-dump.")).length;
  assert.equal(dumpAndCount("cat", ["sh", "-c", "echo partial; exit 2"]).status, 1);
  assert.equal(dumpAndCount("cat", ["sh", "-c", "echo partial; exit 2"], "zstd").status, 1);
  assert.equal(dumpAndCount("cat >/dev/null; echo 'pg_restore: error: corrupt' >&2; exit 1", ["printf", "%s\n", DATA_ONLY]).status, 3);
  assert.equal(readdirSync("/tmp").filter((n) => n.startsWith("claw-dump.")).length, before);
});

test("pg_dump's compression level is passed only when set", () => {
  assert.deepEqual(pgDump("u", "d"), ["pg_dump", "-U", "u", "-d", "d", "--format=custom"]);
  assert.deepEqual(pgDump("u", "d", 1), ["pg_dump", "-U", "u", "-d", "d", "--format=custom", "--compress=1"]);
});

test("a data row that begins with \"COPY \" is counted as a row of its table", () => {
  const r = countRows(["COPY public.notes (title, body) FROM stdin;", "COPY of the invoice\tsee attachment", "draft\tx", "\\.", ""].join("\n"));
  assert.equal(r.stdout, "public.notes\t2\n");
});

test("the dump row-count script fails when pg_restore cannot decode the dump", () => {
  const bin = fakeBin("pg_restore", 'echo "COPY public.users (id) FROM stdin;"; echo 1; echo "pg_restore: error: could not read from input file: end of file" >&2; exit 1');
  const r = sh(DUMP_ROW_COUNT_SCRIPT, { path: bin });
  assert.notEqual(r.status, 0);
});

test("row counts are parsed from name<TAB>count lines; anything else is ignored", () => {
  assert.deepEqual(parseCounts('public.users\t2\r\npublic."my table"\t0\nnot a count line\npublic.bad\tmany\n\t5\npublic.x\t\n'),
    { "table:public.users": 2, 'table:public."my table"': 0 });
  assert.deepEqual(parseCounts(""), {});
});

test("count differences name the table, expected and actual; missing sides show as none", () => {
  assert.deepEqual(compareCounts({ "table:a": 1, "table:b": 2 }, { "table:a": 1, "table:b": 2 }), []);
  assert.deepEqual(compareCounts({ "table:a": 1, "table:b": 2 }, { "table:a": 3, "table:c": 0 }),
    ["a: expected 1, got 3", "b: expected 2, got none", "c: expected none, got 0"]);
  assert.deepEqual(compareCounts({}, {}), []);
});

test("the swap renames the live database away and the restored one in, with connections closed in between", () => {
  assert.deepEqual(swapSql("claw_ai", "claw_ai__claw_restore", "claw_ai__claw_old_x"), [
    'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS false',
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'claw_ai' AND pid <> pg_backend_pid()",
    'ALTER DATABASE "claw_ai" RENAME TO "claw_ai__claw_old_x"',
    'ALTER DATABASE "claw_ai__claw_restore" RENAME TO "claw_ai"',
    'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true',
  ]);
});

test("the swap quotes a database name holding double and single quotes as identifier and literal", () => {
  const sql = swapSql(`we"ird'db`, `we"ird'db__claw_restore`, `we"ird'db__claw_old_1`);
  assert.deepEqual(sql, [
    `ALTER DATABASE "we""ird'db" ALLOW_CONNECTIONS false`,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'we"ird''db' AND pid <> pg_backend_pid()`,
    `ALTER DATABASE "we""ird'db" RENAME TO "we""ird'db__claw_old_1"`,
    `ALTER DATABASE "we""ird'db__claw_restore" RENAME TO "we""ird'db"`,
    `ALTER DATABASE "we""ird'db" ALLOW_CONNECTIONS true`,
  ]);
});

test("pg_dump and pg_dumpall argv are custom format and globals only", () => {
  assert.deepEqual(pgDump("claw", "claw_ai"), ["pg_dump", "-U", "claw", "-d", "claw_ai", "--format=custom"]);
  assert.deepEqual(pgDumpGlobals("claw"), ["pg_dumpall", "-U", "claw", "--globals-only"]);
});

// ---- redis --------------------------------------------------------------------------------------

test("INFO is parsed into fields: section headers skipped, CRLF trimmed, values keep their colons", () => {
  const text = "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/local/bin/redis-server\r\nconfig_file:\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb2:keys=10,expires=0,avg_ttl=0\r\n";
  assert.deepEqual(parseInfo(text), {
    redis_version: "7.0.15",
    executable: "/usr/local/bin/redis-server",
    config_file: "",
    db0: "keys=3,expires=1,avg_ttl=0",
    db2: "keys=10,expires=0,avg_ttl=0",
  });
});

test("keys per database come from the dbN lines of INFO keyspace only", () => {
  const info = parseInfo("# Keyspace\ndb0:keys=3,expires=1,avg_ttl=0\ndb2:keys=10,expires=0,avg_ttl=0,subexpiry=0\ndbfilename:dump.rdb\nrdb_changes_since_last_save:4\n");
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
  assertShellSyntax(RESTORE_SCRIPT);
  assertShellSyntax(CHECK_RDB_SCRIPT);
  assert.doesNotMatch(RESTORE_SCRIPT, /FLUSHALL/i);
  assert.doesNotMatch(RESTORE_SCRIPT, /FLUSHDB/i);
  assert.match(RESTORE_SCRIPT, /--appendonly no/);
  assert.match(RESTORE_SCRIPT, /config set appendonly yes/);
  assert.match(RESTORE_SCRIPT, /echo "KEYS \$n"$/);
});

// ---- milvus -------------------------------------------------------------------------------------

test("etcdctl's JSON snapshot status is parsed to hash, revision, keys and size", () => {
  assert.deepEqual(parseSnapshotStatus('{"hash":2624514171,"revision":3,"totalKey":10,"totalSize":20480}\n'),
    { hash: 2624514171, revision: 3, totalKey: 10, totalSize: 20480 });
  assert.throws(() => parseSnapshotStatus("Error: snapshot file has wrong hash\n"), SyntaxError);
});

test("etcdctl argv: snapshot save/status and a key count that fetches one key", () => {
  assert.deepEqual(etcdKeyCount(), ["etcdctl", "get", "", "--prefix", "--keys-only", "--limit", "1", "-w", "json"]);
  assert.deepEqual(etcdSnapshotSave("/tmp/s"), ["etcdctl", "snapshot", "save", "/tmp/s"]);
  assert.deepEqual(etcdSnapshotStatus("/tmp/s"), ["etcdctl", "snapshot", "status", "/tmp/s", "-w", "json"]);
});

test("the etcd restore script parses as sh", () => {
  assertShellSyntax(ETCD_RESTORE_SCRIPT("/etcd"));
  assert.ok(ETCD_RESTORE_SCRIPT("/etcd").startsWith("set -eu\ncd '/etcd'\n"));
});

test("the etcd restore script swaps a restored member/ in for the old one and leaves nothing behind", () => {
  const data = tmp("etcd");
  write(data, "member/snap/db", "old data");
  write(data, "member/wal/0.wal", "old wal");
  // A fake etcdutl that "restores" the snapshot from stdin into --data-dir.
  const bin = fakeBin("etcdutl", 'd="$5"; mkdir -p "$d/member/snap"; cp "$3" "$d/member/snap/db"');
  const r = sh(ETCD_RESTORE_SCRIPT(data), { input: "snapshot bytes", path: bin });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(data), ["member/", "member/snap/", "member/snap/db: snapshot bytes"]);
});

// ---- raw volumes -----------------------------------------------------------------------------------

test("volume statistics are read from FILES and BYTES lines; anything else is a failed run (exit 1), not a precondition", () => {
  assert.deepEqual(parseStats("FILES 12\nBYTES 34567\n"), { files: 12, bytes: 34567 });
  assert.deepEqual(parseStats("noise\nFILES  0\nBYTES\t0"), { files: 0, bytes: 0 });
  expectError(ClawError, ExitCode.failed, () => parseStats("FILES 3\n"));
  assert.throws(() => parseStats("sh: find: not found"), /could not read volume statistics: sh: find: not found/);
});

test("the volume scripts parse as sh", () => {
  assertShellSyntax(statsScript("/data"));
  assertShellSyntax(replaceScript("/data"));
  assertShellSyntax(drillScript(MINIO_READY_CHECK));
  assertShellSyntax(archiveScript("/data", "minio-data.tar"));
});

test("the archive script prints the stats and writes the tar into the output mount", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, "sub/b", "xy");
  const out = tmp("out");
  const r = spawnSync("sh", ["-c", archiveScript(vol, "v.tar").replaceAll(OUT_MOUNT, out)]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(parseStats(r.stdout.toString()), { files: 2, bytes: 7 });
  const listed = spawnSync("tar", ["-tf", join(out, "v.tar")], { encoding: "utf8" });
  assert.deepEqual(listed.stdout.split("\n").filter(Boolean).sort(), ["./", "./a.bin", "./sub/", "./sub/b"]);
});

test("settleAll waits for every task before failing with the first error", async () => {
  const order: string[] = [];
  const slow = new Promise<number>((res) => setTimeout(() => { order.push("slow done"); res(2); }, 50));
  const failing = Promise.reject(new Error("first failure"));
  await assert.rejects(settleAll([failing, slow]), /first failure/);
  assert.deepEqual(order, ["slow done"], "the slow task had finished when the error surfaced");
  assert.deepEqual(await settleAll([Promise.resolve(1), slow]), [1, 2]);
});

test("the drill scripts parse as sh and work in a temp dir of their own, never a data path", () => {
  for (const script of [PG_DRILL_SCRIPT, REDIS_DRILL_SCRIPT, ETCD_DRILL_SCRIPT, drillScript(MINIO_READY_CHECK)]) {
    assertShellSyntax(script);
    assert.match(script, /D=\$\(mktemp -d \/tmp\/claw-drill\.XXXXXX\)/);
    assert.doesNotMatch(script, /\/var\/lib|[^D]\/(data|etcd|minio_data)\b/);
  }
});

test("the volume drill extracts a tar from stdin and reports the same figures as the stats script", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, ".minio.sys/format.json", "{}");
  const archive = spawnSync("tar", ["-C", vol, "-cf", "-", "."]);
  const r = spawnSync("sh", ["-c", drillScript(['echo "THEN $(ls -A "$D" | sort | tr "\\n" " ")"'])], { input: archive.stdout, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), parseStats(sh(statsScript(vol)).stdout));
  assert.match(r.stdout, /THEN \.minio\.sys a\.bin/);
});

test("the stats script counts regular files and their bytes, dotfiles and nested ones included", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, ".hidden", "xy");
  write(vol, "sub/deep/c", "");
  symlinkSync("a.bin", join(vol, "link"));
  const r = sh(statsScript(vol));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 7 });
});

test("the replace script swaps a volume's whole content for a tar from stdin, dotfiles included", () => {
  const vol = tmp("vol");
  write(vol, "old.txt", "old");
  write(vol, ".old-dotfile", "old");
  write(vol, "olddir/x", "old");
  write(vol, "same.txt", "old version");
  const src = tmp("src");
  write(src, "same.txt", "new version");
  write(src, ".new-dotfile", "new");
  write(src, "bucket/obj/part.1", "new part");
  const archive = spawnSync("tar", ["-C", src, "-cf", "-", "."]);
  assert.equal(archive.status, 0, String(archive.stderr));
  const r = sh(replaceScript(vol), { input: archive.stdout });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(vol), [".new-dotfile: new", "bucket/", "bucket/obj/", "bucket/obj/part.1: new part", "same.txt: new version"]);
  assert.equal(existsSync(join(vol, ".claw-restore-new")), false);
  assert.deepEqual(parseStats(sh(statsScript(vol)).stdout), { files: 3, bytes: 22 });
});

test("the replace script leaves the live content alone when the tar is damaged", () => {
  const vol = tmp("vol");
  write(vol, "keep.txt", "live");
  const r = sh(replaceScript(vol), { input: "this is not a tar archive" });
  assert.notEqual(r.status, 0);
  assert.deepEqual(tree(vol).filter((p) => !p.startsWith(".claw-restore-new")), ["keep.txt: live"]);
});

// ---- uploads ---------------------------------------------------------------------------------------

test("archive entries that would land outside the extraction directory are named unsafe", () => {
  const cases: Array<[string, string, string | undefined, string | undefined]> = [
    ["/etc/passwd", "File", undefined, "absolute path"],
    ["../x", "File", undefined, "path escapes the directory"],
    ["a/../../x", "File", undefined, "path escapes the directory"],
    ["..", "Directory", undefined, "path escapes the directory"],
    ["l", "SymbolicLink", "/etc/passwd", "symlink to an absolute path"],
    ["sub/l", "SymbolicLink", "../../x", "symlink with `..` in its target"],
    ["sub/l", "SymbolicLink", "..", "symlink with `..` in its target"],
    ["l", "SymbolicLink", "..", "symlink with `..` in its target"],
    ["sub/l", "SymbolicLink", "../x", "symlink with `..` in its target"],
    ["./sub/l", "SymbolicLink", "x/y", undefined],
    ["l", "SymbolicLink", "sub/deeper/file", undefined],
    ["l", "SymbolicLink", undefined, "link without target"],
    ["h", "Link", "../x", "hard link escapes the directory"],
    ["h", "Link", "/etc/shadow", "hard link escapes the directory"],
    ["h", "Link", "sub/f", undefined],
    ["dev/null", "CharacterDevice", undefined, "unsupported entry type CharacterDevice"],
    ["fifo", "FIFO", undefined, "unsupported entry type FIFO"],
    ["./photo.jpg", "File", undefined, undefined],
    ["./", "Directory", undefined, undefined],
    ["sub/", "Directory", undefined, undefined],
  ];
  for (const [path, type, link, want] of cases) {
    assert.equal(unsafeReason(path, type, link), want, `${type} ${path} -> ${link}`);
  }
});

/** A fake project for the filesystem-only components (no Docker is touched). */
const ctxFor = (root: string, dir: string, extra: Record<string, unknown> = {}) =>
  ({ project: { root, stack, composeFiles: [join(root, "docker-compose.prod.yml")], ...extra }, dir, out: { info() {} } }) as unknown as ComponentContext;

function uploadsTree(): { root: string; live: string } {
  const root = tmp("proj");
  const live = join(root, "uploads");
  write(live, "line\nbreak.txt", "abc");
  write(live, "résumé-文件.pdf", "12345");
  write(live, "sub/private.bin", "xy", 0o640);
  utimesSync(join(live, "sub/private.bin"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
  symlinkSync("../résumé-文件.pdf".slice(3), join(live, "sub/link")); // links may only point down
  write(live, `${"long-name-".repeat(15)}.txt`, "");
  return { root, live };
}

test("an uploads archive made with node-tar is summarised: any name survives, links are not followed", async () => {
  const { live } = uploadsTree();
  const file = join(tmp("arch"), "u.tar");
  await tar.c({ cwd: live, file, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  assert.deepEqual(await summarise(file), { files: 4, dirs: 2, symlinks: 1, bytes: 10, unsafe: [] });
  const seen: Record<string, { type: string; mode?: number; mtime?: Date; linkpath?: string }> = {};
  await tar.t({ file, onReadEntry: (e) => { seen[e.path] = { type: e.type, mode: e.mode, mtime: e.mtime, linkpath: e.linkpath }; } });
  assert.ok(seen["./line\nbreak.txt"]);
  assert.ok(seen["./résumé-文件.pdf"]);
  assert.equal(seen["./sub/private.bin"]?.mode, 0o640);
  assert.equal(seen["./sub/private.bin"]?.mtime?.toISOString(), "2020-01-02T03:04:05.000Z");
  assert.equal(seen["./sub/link"]?.linkpath, "résumé-文件.pdf");
});

test("the uploads component backs up, verifies and restores a tree exactly (names, modes, mtimes, symlinks)", async () => {
  const { root, live } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  assert.deepEqual(res.counts, { files: 4, dirs: 2, symlinks: 1, bytes: 10 });
  assert.equal(statSync(join(dir, UPLOADS_FILE)).mode & 0o777, 0o600);
  const rec: ComponentRecord = { name: "uploads", status: "ok", startedAt: "", finishedAt: "", durationMs: 0, ...res };
  await uploads.verify(ctx, rec);
  const before = tree(live);
  rmSync(join(live, "sub"), { recursive: true });
  write(live, "added-after-backup.txt", "gone after restore");
  await uploads.restore(ctx, rec);
  assert.deepEqual(tree(live), before);
  assert.equal(statSync(join(live, "sub/private.bin")).mode & 0o777, 0o640);
  assert.equal(statSync(join(live, "sub/private.bin")).mtime.toISOString(), "2020-01-02T03:04:05.000Z");
  assert.deepEqual(readdirSync(root).sort(), ["uploads"]);
});

test("the uploads drill extracts into a scratch dir under backups/, finds the manifest's counts and removes it", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  const rec: ComponentRecord = { name: "uploads", status: "ok", startedAt: "", finishedAt: "", durationMs: 0, ...res };
  assert.match(await uploads.drill(ctx, rec), /4 files, 2 directories, 1 symlinks, 10 bytes, as in the manifest/);
  assert.deepEqual(readdirSync(join(root, "backups")), [], "the scratch directory is gone");
});

test("the uploads verify refuses an archive whose counts differ from the manifest", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  const rec: ComponentRecord = { name: "uploads", status: "ok", startedAt: "", finishedAt: "", durationMs: 0, ...res, counts: { ...res.counts, files: 5 } };
  await assert.rejects(uploads.verify(ctx, rec), /uploads: archive holds 4 files, the manifest 5/);
});

test("an archive with a symlink out of the tree or an absolute path is reported unsafe", async () => {
  const d = tmp("mal");
  mkdirSync(join(d, "tree"));
  symlinkSync("../../etc", join(d, "tree", "etc"));
  const rel = join(d, "rel.tar");
  await tar.c({ cwd: join(d, "tree"), file: rel, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  assert.deepEqual((await summarise(rel)).unsafe, ['"./etc": symlink with `..` in its target']);

  write(d, "abs/secret", "s");
  const abs = join(d, "abs.tar");
  await tar.c({ file: abs, preservePaths: true } as tar.TarOptionsWithAliasesFile, [join(d, "abs/secret")]);
  assert.deepEqual((await summarise(abs)).unsafe, [`${JSON.stringify(join(d, "abs/secret"))}: absolute path`]);
});

test("a symlink that escapes through another symlink of the archive is reported unsafe", async () => {
  const d = tmp("chain");
  mkdirSync(join(d, "tree", "d"), { recursive: true });
  symlinkSync("..", join(d, "tree", "d", "a"));
  symlinkSync("d/a/../secret", join(d, "tree", "l"));
  const file = join(d, "chain.tar");
  await tar.c({ cwd: join(d, "tree"), file, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  // Proof that the pair escapes: extracted beside a "secret", l reads it.
  write(d, "x/secret", "outside");
  mkdirSync(join(d, "x", "uploads"));
  await tar.x({ file, cwd: join(d, "x", "uploads"), strict: true, preservePaths: false });
  assert.equal(readFileSync(join(d, "x", "uploads", "l"), "utf8"), "outside");
  assert.notDeepEqual((await summarise(file)).unsafe, []);
});

// ---- config ----------------------------------------------------------------------------------------

function projectTree(): string {
  const root = tmp("cfg");
  write(root, ".env.prod", "POSTGRES_DB=claw_ai\n", 0o600);
  writeFileSync(join(root, "docker-compose.prod.yml"), readFileSync(join(ROOT, "docker-compose.prod.yml")));
  write(root, "nginx/nginx.conf", "events {}\n");
  write(root, "nginx/.htpasswd", "admin:x\n");
  write(root, "nginx/ssl/fullchain.pem", "CERT");
  write(root, "nginx/ssl/privkey.pem", "KEY", 0o600);
  write(root, "prometheus/prometheus.yml", "global: {}\n");
  write(root, "prometheus/alerts.yml", "groups: []\n");
  write(root, "grafana/provisioning/datasources/ds.yml", "apiVersion: 1\n");
  write(root, "grafana/dashboards/claw.json", "{}\n");
  write(root, "loki/loki-config.yml", "auth_enabled: false\n");
  write(root, "loki/promtail-config.yml", "server: {}\n");
  write(root, "uploads/photo.jpg", "not config");
  write(root, "backups/daily/x/manifest.json", "{}");
  write(root, "README.md", "not config");
  return root;
}

const CONFIG_FILES = [
  ".env.prod", "docker-compose.prod.yml", "grafana/dashboards/claw.json", "grafana/provisioning/datasources/ds.yml",
  "loki/loki-config.yml", "loki/promtail-config.yml", "nginx/.htpasswd", "nginx/nginx.conf",
  "prometheus/alerts.yml", "prometheus/prometheus.yml",
];

test("config files are .env.prod, the compose files and the nginx/prometheus/grafana/loki trees, without TLS keys", () => {
  const root = projectTree();
  assert.deepEqual(configFiles(root, [join(root, "docker-compose.prod.yml")]), CONFIG_FILES);
});

test("config files leave out a compose file outside the project and a missing .env.prod", () => {
  const root = projectTree();
  rmSync(join(root, ".env.prod"));
  const files = configFiles(root, [join(root, "docker-compose.prod.yml"), join(tmp("elsewhere"), "override.yml")]);
  assert.deepEqual(files, CONFIG_FILES.filter((f) => f !== ".env.prod"));
  assert.deepEqual(configFiles(tmp("empty"), []), []);
});

test("an env or compose file change is one compose up detects by itself", () => {
  assert.equal(composeInputChanged([".env.prod"]), true);
  assert.equal(composeInputChanged(["nginx/nginx.conf", "docker-compose.prod.yml"]), true);
  assert.equal(composeInputChanged(["docker-compose.override.yaml"]), true);
  assert.equal(composeInputChanged(["nginx/nginx.conf", "prometheus/alerts.yml"]), false);
  assert.equal(composeInputChanged(["docker-compose.prod.yml.bak", ".env.prod.example"]), false);
  assert.equal(composeInputChanged([]), false);
});

test("a compose file chosen with COMPOSE_FILE under another name counts as a compose change", () => {
  assert.equal(composeInputChanged(["compose.yaml"]), true);
});

test("services that bind-mount a changed config file are the ones force-recreated", () => {
  assert.deepEqual(servicesMounting(["nginx/nginx.conf"], stack), ["nginx"]);
  assert.deepEqual(servicesMounting(["nginx/.htpasswd"], stack), ["nginx"]);
  assert.deepEqual(servicesMounting(["prometheus/alerts.yml"], stack), ["prometheus"]);
  assert.deepEqual(servicesMounting(["loki/promtail-config.yml"], stack), ["promtail"]);
  assert.deepEqual(servicesMounting(["loki/loki-config.yml"], stack), ["loki"]);
  assert.deepEqual(servicesMounting(["grafana/provisioning/x"], stack), ["grafana"]);
  assert.deepEqual(servicesMounting(["grafana/dashboards/claw.json", "loki/promtail-config.yml", "nginx/nginx.conf"], stack), ["grafana", "nginx", "promtail"]);
  assert.deepEqual(servicesMounting([".env.prod", "docker-compose.prod.yml", "nginx/nginx.conf.bak", "grafana/provisioning-old"], stack), []);
  assert.deepEqual(servicesMounting([], stack), []);
});

test("a config restore writes back only the files that differ and names the services to recreate", async () => {
  const root = projectTree();
  const dir = tmp("bk");
  const res = await config.backup(ctxFor(root, dir));
  assert.deepEqual(res.counts, { files: CONFIG_FILES.length });
  writeFileSync(join(root, "nginx/nginx.conf"), "changed since the backup\n");
  rmSync(join(root, "loki/promtail-config.yml"));
  writeFileSync(join(root, ".env.prod"), "POSTGRES_DB=other\n", { mode: 0o644 });
  chmodSync(join(root, ".env.prod"), 0o644);

  const dry = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack, true);
  assert.deepEqual(dry, { changed: [".env.prod", "loki/promtail-config.yml", "nginx/nginx.conf"], composeChanged: true, mounting: ["nginx", "promtail"] });
  assert.equal(readFileSync(join(root, "nginx/nginx.conf"), "utf8"), "changed since the backup\n");

  const r = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack);
  assert.deepEqual(r, dry);
  assert.equal(readFileSync(join(root, "nginx/nginx.conf"), "utf8"), "events {}\n");
  assert.equal(readFileSync(join(root, "loki/promtail-config.yml"), "utf8"), "server: {}\n");
  assert.equal(readFileSync(join(root, ".env.prod"), "utf8"), "POSTGRES_DB=claw_ai\n");
  assert.equal(statSync(join(root, ".env.prod")).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(root, "nginx/ssl/privkey.pem"), "utf8"), "KEY");
  assert.deepEqual(readdirSync(root).filter((n) => n.startsWith(".claw")), []);
  assert.deepEqual((await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack)).changed, []);
});

test("a config restore recreates a config directory that no longer exists", async () => {
  const root = projectTree();
  const dir = tmp("bk");
  await config.backup(ctxFor(root, dir));
  rmSync(join(root, "loki"), { recursive: true });
  const r = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack);
  assert.deepEqual(r.changed, ["loki/loki-config.yml", "loki/promtail-config.yml"]);
  assert.equal(readFileSync(join(root, "loki/loki-config.yml"), "utf8"), "auth_enabled: false\n");
});

// ---- engine ----------------------------------------------------------------------------------------

test("a backup takes every component by default, uploads left out with --no-upload, postgres only with --db-only", () => {
  assert.deepEqual(selectComponents({}), ["postgres", "redis", "milvus", "uploads", "config"]);
  assert.deepEqual(selectComponents({ noUpload: true }), ["postgres", "redis", "milvus", "config"]);
  assert.deepEqual(selectComponents({ dbOnly: true }), ["postgres"]);
  assert.deepEqual(selectComponents({ dbOnly: true, noUpload: true }), ["postgres"]);
});

test("--only takes a comma list with spaces in any order, deduplicated, in component order", () => {
  assert.deepEqual(selectComponents({ only: " config , postgres" }), ["postgres", "config"]);
  assert.deepEqual(selectComponents({ only: "uploads,redis,redis," }), ["redis", "uploads"]);
  assert.deepEqual(selectComponents({ only: "milvus", dbOnly: true, noUpload: true }), ["milvus"]);
});

test("--only with an unknown or no component is a usage error (exit 2) naming the choices", () => {
  const e = usageError(() => selectComponents({ only: "postgres,mysql" }));
  assert.equal(e.message, '--only takes postgres,redis,milvus,uploads,config; got "postgres,mysql"');
  assert.equal(usageError(() => selectComponents({ only: "" })).message, '--only takes postgres,redis,milvus,uploads,config; got ""');
  assert.equal(usageError(() => selectComponents({ only: " , " })).message, '--only takes postgres,redis,milvus,uploads,config; got " , "');
  usageError(() => selectComponents({ only: "Postgres" }));
});

test("the dependents stopped during a data restore are the backend and the celery services", () => {
  assert.deepEqual(DEPENDENT_ROLES, ["backend", "celery-worker", "celery-beat", "flower"]);
});

const planManifest: Manifest = {
  format: "claw-ops-backup", version: 1, id: "20240215-020000", createdAt: "2024-02-15T01:00:00.000Z", finishedAt: "2024-02-15T01:02:00.000Z",
  host: "h", release: { image: "ghcr.io/claw/backend", tag: "1.0" }, composeProject: null, components: {},
};

function plan(o: Partial<RestorePlan>): RestorePlan {
  return {
    dir: "/srv/claw/backups/daily/20240215-020000", manifest: planManifest, components: [], skipped: [], stop: [],
    snapshotTier: "pre-rollback", releaseFrom: "ghcr.io/claw/backend:1.1", releaseTo: "ghcr.io/claw/backend:1.0", ...o,
  };
}

test("the plan of a data-only rollback says config is not restored and the release is unchanged", () => {
  assert.deepEqual(describePlan(plan({
    components: ["postgres", "redis"], skipped: ["milvus", "uploads", "config"], stop: ["claw-ai-backend", "celery-worker", "celery-beat", "flower"],
  })), [
    "backup:      20240215-020000 (/srv/claw/backups/daily/20240215-020000)",
    "restore:     postgres, redis",
    "leave as is: milvus, uploads, config",
    "config:      not restored",
    "release:     ghcr.io/claw/backend:1.1 (unchanged)",
    "stop/start:  claw-ai-backend, celery-worker, celery-beat, flower",
    "snapshot:    backups/pre-rollback/<now> first, holding everything that will be overwritten",
  ]);
});

test("the plan shows the release change only when config is restored and the release differs", () => {
  const withConfig = describePlan(plan({ components: ["postgres", "config"], skipped: ["redis", "milvus", "uploads"], snapshotTier: "pre-restore" }));
  assert.equal(withConfig[3], "config:      restored (.env.prod, compose, nginx, prometheus, grafana, loki)");
  assert.equal(withConfig[4], "release:     ghcr.io/claw/backend:1.1 -> ghcr.io/claw/backend:1.0");
  assert.equal(withConfig[5], "stop/start:  none");
  assert.equal(withConfig[6], "snapshot:    backups/pre-restore/<now> first, holding everything that will be overwritten");
  const sameRelease = describePlan(plan({ components: ["config"], releaseFrom: "ghcr.io/claw/backend:1.0" }));
  assert.equal(sameRelease[4], "release:     ghcr.io/claw/backend:1.0 (unchanged)");
  const nothing = describePlan(plan({ skipped: ["postgres", "redis", "milvus", "uploads", "config"] }));
  assert.equal(nothing[1], "restore:     nothing");
  assert.equal(nothing[2], "leave as is: postgres, redis, milvus, uploads, config");
  assert.equal(nothing[3], "config:      not restored");
});

test("data-moving streams pass bytes unchanged and ask for a collection every 16 MB when gc is exposed", async () => {
  const g = globalThis as { gc?: () => void };
  const saved = g.gc;
  let calls = 0;
  g.gc = () => { calls++; };
  try {
    const chunks: Buffer[] = [];
    const t = releasing();
    t.on("data", (c: Buffer) => chunks.push(c));
    const mb = Buffer.alloc(1 << 20, 7);
    for (let i = 0; i < 70; i++) t.write(mb);
    t.end();
    await new Promise((r) => t.on("end", r));
    assert.equal(Buffer.concat(chunks).length, 70 << 20);
    assert.ok(calls >= 4 && calls <= 5, `gc asked ${calls} times for 70 MB`);
    movedBytes(1);
  } finally {
    g.gc = saved;
  }
});
