import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import {
  type Codec,
  copyDatabaseSql,
  createDatabaseSql,
  DRILL_SCRIPT,
  DUMP_AND_COUNT_SCRIPT,
  DUMP_ROW_COUNT_SCRIPT,
  drillCommand,
  dropDatabaseSql,
  dumpAndCount as dumpAndCountArgv,
  FEED_FUNCTION,
  hasZstd,
  keptDatabase,
  keptDatabasesSql,
  keptTagOf,
  listDump,
  MAX_IDENTIFIER_BYTES,
  parseCounts,
  parseDumpCounts,
  pgDump,
  pgDumpGlobals,
  pgVersion,
  psql,
  quoteIdent,
  quoteLit,
  ROW_COUNT_SQL,
  restoreDump,
  restoreNames,
  swapRecovery,
  swapStateSql,
  swapSteps,
  withDump,
} from "../../../lib/commands/postgres.ts";
import { assertShellSyntax, fakeBin, sh } from "../helpers.ts";

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
  return spawnSync("sh", ["-c", DUMP_AND_COUNT_SCRIPT, "claw-dump", codec, ...dumpCmd], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
}

test("dump and count in one pass: the dump goes to stdout unchanged, the counts of the same bytes to stderr", () => {
  const r = dumpAndCount("cat", ["printf", "%s\n", DATA_ONLY]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.stdout.toString(), `${DATA_ONLY}\n`);
  assert.deepEqual(parseDumpCounts(r.stderr.toString()), {
    "table:public.users": 2,
    "table:public.empty": 0,
    'table:public."my table"': 3,
    "table:audit.log": 1,
  });
});

test("with zstd the dump goes out compressed, the counter still reads it uncompressed, and feed() brings it back", () => {
  const r = dumpAndCount("cat", ["printf", "%s\n", DATA_ONLY], "zstd");
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(spawnSync("zstd", ["-dc"], { input: r.stdout }).stdout.toString(), `${DATA_ONLY}\n`);
  assert.equal(parseDumpCounts(r.stderr.toString())["table:public.users"], 2);
  const [sh0, ...args] = withDump("zstd", ["cat"]);
  const back = spawnSync(sh0!, args, { input: r.stdout });
  assert.equal(back.status, 0, back.stderr.toString());
  assert.equal(back.stdout.toString(), `${DATA_ONLY}\n`);
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

test('a data row that begins with "COPY " is counted as a row of its table', () => {
  const r = countRows(["COPY public.notes (title, body) FROM stdin;", "COPY of the invoice\tsee attachment", "draft\tx", "\\.", ""].join("\n"));
  assert.equal(r.stdout, "public.notes\t2\n");
});

test("the dump row-count script fails when pg_restore cannot decode the dump", () => {
  const bin = fakeBin(
    "pg_restore",
    'echo "COPY public.users (id) FROM stdin;"; echo 1; echo "pg_restore: error: could not read from input file: end of file" >&2; exit 1',
  );
  const r = sh(DUMP_ROW_COUNT_SCRIPT, { path: bin });
  assert.notEqual(r.status, 0);
});

test("row counts are parsed from name<TAB>count lines; anything else is ignored", () => {
  assert.deepEqual(parseCounts('public.users\t2\r\npublic."my table"\t0\nnot a count line\npublic.bad\tmany\n\t5\npublic.x\t\n'), {
    "table:public.users": 2,
    'table:public."my table"': 0,
  });
  assert.deepEqual(parseCounts(""), {});
});

test("the swap renames the live database away and the restored one in, with connections closed in between", () => {
  assert.deepEqual(
    swapSteps("claw_ai", "claw_ai__claw_restore", "claw_ai__claw_old_x").map((s) => s.sql),
    [
      'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS false',
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'claw_ai' AND pid <> pg_backend_pid()",
      'ALTER DATABASE "claw_ai" RENAME TO "claw_ai__claw_old_x"',
      'ALTER DATABASE "claw_ai__claw_restore" RENAME TO "claw_ai"',
      'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true',
    ],
  );
});

test("the swap quotes a database name holding double and single quotes as identifier and literal", () => {
  const sql = swapSteps(`we"ird'db`, `we"ird'db__claw_restore`, `we"ird'db__claw_old_1`).map((s) => s.sql);
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

test("pg_dump --version, and psql that stops at the first error and prints bare unaligned rows", () => {
  assert.deepEqual(pgVersion(), ["pg_dump", "--version"]);
  assert.deepEqual(psql("claw", "postgres", "SELECT 1"), ["psql", "-U", "claw", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", "SELECT 1"]);
});

test("the zstd probe is `command -v zstd` through sh", () => {
  assert.deepEqual(hasZstd(), ["sh", "-c", "command -v zstd"]);
});

test("dump and count runs its script with the codec and then pg_dump's argv as the positional parameters", () => {
  assert.deepEqual(dumpAndCountArgv("zstd", "claw", "claw_ai"), [
    "sh",
    "-c",
    DUMP_AND_COUNT_SCRIPT,
    "claw-dump",
    "zstd",
    "pg_dump",
    "-U",
    "claw",
    "-d",
    "claw_ai",
    "--format=custom",
  ]);
  assert.deepEqual(dumpAndCountArgv("none", "claw", "claw_ai", 6), [
    "sh",
    "-c",
    DUMP_AND_COUNT_SCRIPT,
    "claw-dump",
    "none",
    "pg_dump",
    "-U",
    "claw",
    "-d",
    "claw_ai",
    "--format=custom",
    "--compress=6",
  ]);
});

test("listing and restoring a dump go through feed() with the dump's codec; the restore stops at the first error", () => {
  const feed = `${FEED_FUNCTION}\nCODEC=$1; shift\nfeed "$@"`;
  assert.deepEqual(withDump("none", ["cat"]), ["sh", "-c", feed, "claw-feed", "none", "cat"]);
  assert.deepEqual(listDump("zstd"), ["sh", "-c", feed, "claw-feed", "zstd", "pg_restore", "--list"]);
  assert.deepEqual(restoreDump("none", "claw", "claw_ai__claw_restore"), [
    "sh",
    "-c",
    feed,
    "claw-feed",
    "none",
    "pg_restore",
    "-U",
    "claw",
    "-d",
    "claw_ai__claw_restore",
    "--exit-on-error",
    "--no-password",
  ]);
});

test("the drill container's command passes the owner, the count query and the codec as $1..$3 of the drill script", () => {
  assert.deepEqual(drillCommand("claw", "zstd"), ["-c", DRILL_SCRIPT, "claw-drill", "claw", ROW_COUNT_SQL, "zstd"]);
});

test("dropping a database forces out its connections, with IF EXISTS unless told otherwise; names are quoted identifiers", () => {
  assert.equal(dropDatabaseSql("claw_ai__claw_restore"), 'DROP DATABASE IF EXISTS "claw_ai__claw_restore" WITH (FORCE)');
  assert.equal(dropDatabaseSql("claw_ai__claw_restore", { ifExists: true }), 'DROP DATABASE IF EXISTS "claw_ai__claw_restore" WITH (FORCE)');
  assert.equal(dropDatabaseSql("claw_ai__claw_old_1", { ifExists: false }), 'DROP DATABASE "claw_ai__claw_old_1" WITH (FORCE)');
  assert.equal(dropDatabaseSql(`we"ird'db`), `DROP DATABASE IF EXISTS "we""ird'db" WITH (FORCE)`);
});

test("the restore database is created from template0, owned by the dump's owner, names quoted as identifiers", () => {
  assert.equal(createDatabaseSql("claw_ai__claw_restore", "claw"), 'CREATE DATABASE "claw_ai__claw_restore" OWNER "claw" TEMPLATE template0');
  assert.equal(createDatabaseSql(`we"ird'db`, 'o"wner'), `CREATE DATABASE "we""ird'db" OWNER "o""wner" TEMPLATE template0`);
});

test("identifiers are double-quoted and literals single-quoted, each doubling its own quote only", () => {
  assert.equal(quoteIdent(`we"ird'db`), `"we""ird'db"`);
  assert.equal(quoteLit(`we"ird'db`), `'we"ird''db'`);
});

test("each swap step but the terminate and the last carries the SQL that undoes it", () => {
  assert.deepEqual(swapSteps("claw_ai", "claw_restore_t", "claw_old_t_1"), [
    { sql: 'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS false', undo: 'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true' },
    { sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'claw_ai' AND pid <> pg_backend_pid()" },
    { sql: 'ALTER DATABASE "claw_ai" RENAME TO "claw_old_t_1"', undo: 'ALTER DATABASE "claw_old_t_1" RENAME TO "claw_ai"' },
    { sql: 'ALTER DATABASE "claw_restore_t" RENAME TO "claw_ai"', undo: 'ALTER DATABASE "claw_ai" RENAME TO "claw_restore_t"' },
    { sql: 'ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true' },
  ]);
});

test("an in-place swap gives what was live its snapshot name only after the restored one is live, and keeps it readable", () => {
  const steps = swapSteps("claw_ai", "claw_restore_t", "claw_old_t_1", "claw_kept_t_20261201120000");
  assert.deepEqual(steps.slice(5), [
    {
      sql: 'ALTER DATABASE "claw_old_t_1" RENAME TO "claw_kept_t_20261201120000"',
      undo: 'ALTER DATABASE "claw_kept_t_20261201120000" RENAME TO "claw_old_t_1"',
    },
    { sql: 'ALTER DATABASE "claw_kept_t_20261201120000" ALLOW_CONNECTIONS true' },
  ]);
  assert.deepEqual(steps.slice(0, 5), swapSteps("claw_ai", "claw_restore_t", "claw_old_t_1"));
});

test("an in-place snapshot's database name is fixed in length, derived from the live name and the snapshot id, and read back to its tag", () => {
  const kept = keptDatabase("claw_ai", "20261201-120000");
  assert.equal(kept, "claw_kept_bd7e5e9e00a8_20261201120000");
  assert.equal(keptDatabase("x".repeat(63), "20261201-120000").length, kept.length);
  assert.equal(keptTagOf("claw_ai", kept), "20261201-120000");
  assert.equal(keptTagOf("claw_ai", "claw_kept_bd7e5e9e00a8_2026"), undefined);
  assert.equal(keptTagOf("other", kept), undefined);
  assert.throws(() => keptDatabase("claw_ai", "x; DROP"), /not a snapshot tag/);
  assert.match(keptDatabasesSql("claw_ai"), /left\(datname, 23\) = 'claw_kept_bd7e5e9e00a8_'/);
});

test("a copy of an in-place snapshot is a file copy on PostgreSQL 15 and a plain template copy before", () => {
  assert.equal(
    copyDatabaseSql("claw_restore_t", "claw_kept_t_1", "claw", 150004),
    'CREATE DATABASE "claw_restore_t" OWNER "claw" TEMPLATE "claw_kept_t_1" STRATEGY FILE_COPY',
  );
  assert.equal(copyDatabaseSql("r", "k", "o", 140010), 'CREATE DATABASE "r" OWNER "o" TEMPLATE "k"');
});

test("swap recovery never looks at in-place snapshots: they are not working names of a swap", () => {
  assert.doesNotMatch(swapStateSql("claw_ai"), /claw_kept_/);
});

test("a restore's working names are short and of fixed length whatever the live name: its hash tags both, the stamp the old one", () => {
  assert.deepEqual(restoreNames("claw_ai", "m4x7k2a1"), { restored: "claw_restore_bd7e5e9e00a8", old: "claw_old_bd7e5e9e00a8_m4x7k2a1" });
  const long = restoreNames("x".repeat(63), "M4X-7k2a1.zzzzzzzzzz");
  assert.deepEqual(long, { restored: "claw_restore_75220b472182", old: "claw_old_75220b472182_47k2a1zzzzzz" });
  for (const name of Object.values(long)) assert.ok(Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES, name);
});

test("a swap killed half-way is put back: the live name returned to the newest old copy, connections allowed again; old copies beside a live database only reported", async () => {
  const { swapRecovery, swapStateSql, restoreNames } = await import("../../../lib/commands/postgres.ts");
  const { old } = restoreNames("claw_ai", "mabc1234");
  const older = restoreNames("claw_ai", "mabc0001").old;
  assert.match(swapStateSql("claw_ai"), /datname = 'claw_ai' OR left\(datname, \d+\) = 'claw_old_[0-9a-f]{12}_'/);
  // Renamed away (step 3 done, step 4 not): the newest old copy gets the name back.
  assert.deepEqual(swapRecovery("claw_ai", `${older}|false\n${old}|false\n`), {
    sql: [`ALTER DATABASE "${old}" RENAME TO "claw_ai"`, `ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true`],
    leftovers: [older],
  });
  // Still refusing connections (step 1 done).
  assert.deepEqual(swapRecovery("claw_ai", "claw_ai|false\n"), { sql: [`ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true`], leftovers: [], kept: [] });
  // Swapped, old not yet dropped: nothing to do, the old copy is named.
  assert.deepEqual(swapRecovery("claw_ai", `claw_ai|true\n${old}|false\n`), { sql: [], leftovers: [old], kept: [] });
  assert.deepEqual(swapRecovery("claw_ai", "claw_ai|true\n"), { sql: [], leftovers: [], kept: [] });
  assert.deepEqual(swapRecovery("claw_ai", ""), { sql: [], leftovers: [] });
  // Swapped, killed before the old one got its in-place snapshot name (its stamp is the snapshot id): it gets it now.
  const stamped = restoreNames("claw_ai", "261201120000").old;
  const kept = keptDatabase("claw_ai", "20261201-120000");
  assert.deepEqual(swapRecovery("claw_ai", `claw_ai|true\n${stamped}|false\n`), {
    sql: [`ALTER DATABASE "${stamped}" RENAME TO "${kept}"`, `ALTER DATABASE "${kept}" ALLOW_CONNECTIONS true`],
    leftovers: [],
    kept: [kept],
  });
});

test("a swap killed with the live database renamed away gets back the copy that refuses connections, a snapshot-stamped one before an older version's", () => {
  const stale = restoreNames("claw_ai", "mx50oxjx").old;
  const stamped = restoreNames("claw_ai", "261201120000").old;
  assert.deepEqual(swapRecovery("claw_ai", `${stale}|true\n${stamped}|false\n`).sql[0], `ALTER DATABASE "${stamped}" RENAME TO "claw_ai"`);
  assert.deepEqual(swapRecovery("claw_ai", `${stale}|false\n${stamped}|false\n`).sql[0], `ALTER DATABASE "${stamped}" RENAME TO "claw_ai"`);
});

/** Recorded from PostgreSQL 15 (psql -At, swapStateSql("claw_ai")) on a healthy stack and with connections refused. */
const REAL_HEALTHY = "claw_ai|true\n";
const REAL_REFUSING = "claw_ai|false\n";

test("a healthy database, as the real server prints it, needs no swap recovery (no false alarm on every backup)", () => {
  assert.deepEqual(swapRecovery("claw_ai", REAL_HEALTHY), { sql: [], leftovers: [], kept: [] });
  assert.deepEqual(swapRecovery("claw_ai", REAL_REFUSING).sql, [`ALTER DATABASE "claw_ai" ALLOW_CONNECTIONS true`]);
});
