/**
 * PostgreSQL: `pg_dump -Fc` streamed out of `docker compose exec -T` straight into the
 * backup file, roles from `pg_dumpall --globals-only`, row counts per table read back out
 * of the dump itself (which also proves its data section decodes).
 * Restore: into a fresh database, verified, then swapped in for the live one.
 */
import { join } from "node:path";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { serviceByRole } from "../../project/stack.ts";
import type { Component, ComponentContext } from "./component.ts";
import { artifact, type ArtifactRecord, type ComponentRecord } from "../manifest.ts";

/**
 * How the dump is compressed: `zstd` (pg_dump --compress=0 piped through zstd -3 on all cores,
 * far faster than pg_dump's single-threaded zlib; the official postgres image ships zstd) or
 * `none` beyond pg_dump's own zlib (when the image has no zstd or BACKUP_PG_COMPRESSION is set).
 */
export type Codec = "zstd" | "none";
export const DUMP_FILE = (db: string, codec: Codec = "none") => `postgres-${db}.dump${codec === "zstd" ? ".zst" : ""}`;
const isDump = (file: string) => /\.dump(\.zst)?$/.test(file);
export const codecOf = (file: string): Codec => (file.endsWith(".zst") ? "zstd" : "none");
export const GLOBALS_FILE = "postgres-globals.sql";

// ---- pure builders ----------------------------------------------------------------------
export const pgDump = (user: string, db: string, compress?: number) =>
  ["pg_dump", "-U", user, "-d", db, "--format=custom", ...(compress !== undefined ? [`--compress=${compress}`] : [])];
export const pgDumpGlobals = (user: string) => ["pg_dumpall", "-U", user, "--globals-only"];
export const pgVersion = () => ["pg_dump", "--version"];

/**
 * Counts the rows of every table in a custom-format dump read from stdin: "schema.table\tN"
 * lines. Exits non-zero when pg_restore cannot decode the dump (no pipefail in dash/ash: a
 * marker line carries the failure through the pipe).
 */
export const DUMP_ROW_COUNT_SCRIPT = [
  "{ pg_restore --data-only --file=- || echo __PG_RESTORE_FAILED__; } | awk '",
  '  /^__PG_RESTORE_FAILED__$/ { failed = 1; next }',
  '  !c && /^COPY / { t = $0; sub(/^COPY /, "", t); sub(/ (\\(.*\\) )?FROM stdin;$/, "", t); n = 0; c = 1; next }',
  '  c && /^\\\\\\.$/ { print t "\\t" n; c = 0; next }',
  "  c { n++ }",
  "  END { exit failed }'",
].join("\n");

/**
 * Dump and count in one pass: the command in "$@" (pg_dump) writes the dump to stdout, and
 * `tee` hands the same bytes through a FIFO to the row-count script, which decodes them at
 * the same time. Counts go to stderr as "COUNT<TAB>schema.table<TAB>N" lines; exit 3 when the
 * dump does not decode. (No pipefail in dash/ash: each side's status goes through a file.)
 */
export const DUMP_AND_COUNT_SCRIPT = [
  "set -u",
  "CODEC=$1; shift",
  "D=$(mktemp -d /tmp/claw-dump.XXXXXX)",
  "trap 'rm -rf \"$D\"' EXIT",
  'mkfifo "$D/copy"',
  `{ (\n${DUMP_ROW_COUNT_SCRIPT}\n) < "$D/copy" > "$D/counts"; echo $? > "$D/counted"; } &`,
  // The counter reads the uncompressed stream; zstd compresses what goes out.
  'if [ "$CODEC" = zstd ]; then { "$@"; echo $? > "$D/dumped"; } | tee "$D/copy" | zstd -q -3 -T0 -c',
  'else { "$@"; echo $? > "$D/dumped"; } | tee "$D/copy"; fi',
  "packed=$?",
  "wait",
  '[ "$(cat "$D/dumped")" = 0 ] || exit 1',
  '[ "$packed" = 0 ] || { echo "zstd failed" >&2; exit 1; }',
  '[ "$(cat "$D/counted")" = 0 ] || { echo "pg_restore cannot decode the dump" >&2; exit 3; }',
  "sed 's/^/COUNT\t/' \"$D/counts\" >&2",
].join("\n");

/**
 * sh function: `feed <cmd…>` runs cmd with the dump from stdin, through `zstd -dc` when
 * $CODEC is zstd. The whole frame is always read (and its checksum checked) even when cmd
 * stops early, as `pg_restore --list` does: a damaged dump fails with exit 4.
 */
export const FEED_FUNCTION = [
  "feed() {",
  '  if [ "${CODEC:-none}" != zstd ]; then "$@"; return; fi',
  "  z=$(mktemp /tmp/claw-zstd.XXXXXX)",
  '  { zstd -dcq; echo $? > "$z"; } | { "$@"; s=$?; cat > /dev/null; exit $s; }',
  '  s=$?; zs=$(cat "$z"); rm -f "$z"',
  '  [ "$zs" = 0 ] || { echo "zstd: the dump does not decompress (damaged)" >&2; return 4; }',
  "  return $s",
  "}",
].join("\n");

/** argv: run cmd in the container with a dump of this codec on stdin. */
export const withDump = (codec: Codec, cmd: readonly string[]) => ["sh", "-c", `${FEED_FUNCTION}\nCODEC=$1; shift\nfeed "$@"`, "claw-feed", codec, ...cmd];

/** The counts DUMP_AND_COUNT_SCRIPT printed among other stderr lines. */
export function parseDumpCounts(stderr: string): Record<string, number> {
  return parseCounts(stderr.split("\n").filter((l) => l.startsWith("COUNT\t")).map((l) => l.slice("COUNT\t".length)).join("\n"));
}

/** Exact row counts of every user table, as "schema.table\tN" lines (names quoted like pg_dump does). */
export const ROW_COUNT_SQL = `SELECT format('%I.%I', table_schema, table_name) || chr(9) ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1`;

export const psql = (user: string, db: string, sql: string) => ["psql", "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql];

export function parseCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [table, n] = line.split("\t");
    if (table && n !== undefined && /^\d+$/.test(n.trim())) out[`table:${table}`] = Number(n);
  }
  return out;
}

/**
 * Restore drill, run as the postgres user in a throwaway container of the live image: a
 * private cluster in a temp dir (unix socket only, fsync off), the dump from stdin restored
 * with --exit-on-error, then the row counts of every table. $1 = the owner role (the
 * cluster's superuser, so the dump's OWNER TO statements apply), $2 = the count query,
 * $3 = the dump's codec.
 */
export const DRILL_SCRIPT = [
  "set -eu",
  FEED_FUNCTION,
  "CODEC=$3",
  'for d in /usr/lib/postgresql/*/bin; do if [ -d "$d" ]; then PATH="$d:$PATH"; fi; done',
  "D=$(mktemp -d /tmp/claw-drill.XXXXXX)",
  'initdb -D "$D/data" -U "$1" -A trust -E UTF8 --no-locale --no-sync >"$D/initdb.log" 2>&1 || { cat "$D/initdb.log" >&2; exit 1; }',
  `pg_ctl -w -D "$D/data" -l "$D/server.log" -o "-c listen_addresses='' -k $D -c fsync=off -c full_page_writes=off" start >/dev/null || { cat "$D/server.log" >&2; exit 1; }`,
  'export PGHOST="$D" PGUSER="$1"',
  "createdb claw_drill",
  "feed pg_restore --exit-on-error --no-password -d claw_drill",
  'psql -d claw_drill -v ON_ERROR_STOP=1 -At -c "$2"',
  'pg_ctl -D "$D/data" -m immediate stop >/dev/null 2>&1 || true',
].join("\n");

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** SQL that swaps the restored database in for the live one (run in the `postgres` db). */
export function swapSql(db: string, restored: string, old: string): string[] {
  return [
    `ALTER DATABASE ${quoteIdent(db)} ALLOW_CONNECTIONS false`,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLit(db)} AND pid <> pg_backend_pid()`,
    `ALTER DATABASE ${quoteIdent(db)} RENAME TO ${quoteIdent(old)}`,
    `ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(db)}`,
    `ALTER DATABASE ${quoteIdent(db)} ALLOW_CONNECTIONS true`,
  ];
}

// ---- the component ------------------------------------------------------------------------
function names(ctx: ComponentContext) {
  const service = serviceByRole(ctx.project.stack, "postgres").name;
  const user = ctx.project.env.require("POSTGRES_USER");
  const db = ctx.project.env.require("POSTGRES_DB");
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


export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[k] !== actual[k]) diffs.push(`${k.replace(/^table:/, "")}: expected ${expected[k] ?? "none"}, got ${actual[k] ?? "none"}`);
  }
  return diffs;
}

export const postgres: Component = {
  name: "postgres",

  async backup(ctx) {
    const { service, user, db } = names(ctx);
    const level = ctx.project.env.get("BACKUP_PG_COMPRESSION");
    const hasZstd = !level && (await ctx.project.compose.exec(service, ["sh", "-c", "command -v zstd"], {}, { allowFailure: true })).status === 0;
    const codec: Codec = hasZstd ? "zstd" : "none";
    const dump = DUMP_FILE(db, codec);
    const compress = codec === "zstd" ? 0 : level ? Number(level) : undefined;
    const r = await ctx.project.compose.exec(service, ["sh", "-c", DUMP_AND_COUNT_SCRIPT, "claw-dump", codec, ...pgDump(user, db, compress)], {},
      { stdoutFile: join(ctx.dir, dump), timeoutMs: 6 * 3600_000, allowFailure: true });
    if (r.status === 3) throw new InvalidBackupError("postgres: pg_restore cannot decode the data in the dump", "the dump is damaged");
    if (r.status !== 0) throw new ClawError(`postgres: pg_dump failed: ${lastLine(r.stderr)}`, { hint: "is the postgres service running? docker compose ps postgres" });
    const counts = parseDumpCounts(r.stderr);
    await ctx.project.compose.exec(service, pgDumpGlobals(user), {}, { stdoutFile: join(ctx.dir, GLOBALS_FILE) });
    const version = (await ctx.project.compose.exec(service, pgVersion())).stdout.trim();
    return {
      artifacts: [await artifact(ctx.dir, dump), await artifact(ctx.dir, GLOBALS_FILE)],
      tools: { pg_dump: version, compression: codec === "zstd" ? "zstd -3 (pg_dump --compress=0)" : `pg_dump zlib, level ${level ?? "default"}` },
      counts,
      notes: [`database ${db}, custom format${codec === "zstd" ? " in zstd (restore by hand: zstd -dc FILE | pg_restore …)" : ""}; roles in ${GLOBALS_FILE} (not applied on restore: .env.prod owns the password)`],
    };
  },

  async verify(ctx, rec) {
    const { service } = names(ctx);
    const dump = dumpOf(rec);
    const list = await ctx.project.compose.exec(service, withDump(codecOf(dump.file), ["pg_restore", "--list"]), {}, { stdinFile: join(ctx.dir, dump.file), allowFailure: true });
    if (list.status !== 0 || !/Archive created at/.test(list.stdout)) {
      throw new InvalidBackupError(`postgres: pg_restore cannot read ${dump.file}`, "the dump is damaged; use another backup");
    }
  },

  async drill(ctx, rec) {
    const { service, user } = names(ctx);
    const dump = dumpOf(rec);
    const r = await ctx.project.compose.throwaway(ctx.project.effectiveName, service, ["-c", DRILL_SCRIPT, "claw-drill", user, ROW_COUNT_SQL, codecOf(dump.file)],
      { entrypoint: "sh", user: "postgres" }, { stdinFile: join(ctx.dir, dump.file), timeoutMs: 6 * 3600_000, allowFailure: true });
    if (r.status !== 0) throw new InvalidBackupError(`postgres: the dump does not restore into a fresh database: ${lastLine(r.stderr)}`);
    const counts = parseCounts(r.stdout);
    const diffs = compareCounts(rec.counts, counts);
    if (diffs.length) throw new InvalidBackupError(`postgres: restored row counts differ from the manifest: ${diffs.slice(0, 3).join("; ")}`);
    const rows = Object.values(counts).reduce((s, n) => s + n, 0);
    return `restored into a throwaway database: ${Object.keys(counts).length} tables, ${rows} rows, as in the manifest`;
  },

  async restore(ctx, rec) {
    const { service, user, db } = names(ctx);
    const dump = dumpOf(rec);
    const stamp = Date.now().toString(36);
    const restored = `${db}__claw_restore`;
    const old = `${db}__claw_old_${stamp}`;
    const exec = (sql: string) => ctx.project.compose.exec(service, psql(user, "postgres", sql));
    // WITH (FORCE): a pg_restore left running by a killed run may still be connected to it.
    await exec(`DROP DATABASE IF EXISTS ${quoteIdent(restored)} WITH (FORCE)`);
    await exec(`CREATE DATABASE ${quoteIdent(restored)} OWNER ${quoteIdent(user)} TEMPLATE template0`);
    try {
      // --exit-on-error: the first error stops the restore; the live database is untouched.
      await ctx.project.compose.exec(service, withDump(codecOf(dump.file), ["pg_restore", "-U", user, "-d", restored, "--exit-on-error", "--no-password"]), {},
        { stdinFile: join(ctx.dir, dump.file), timeoutMs: 6 * 3600_000 });
      const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, restored));
      if (diffs.length) throw new ClawError(`postgres: restored row counts differ from the backup: ${diffs.slice(0, 3).join("; ")}`);
    } catch (e) {
      await exec(`DROP DATABASE IF EXISTS ${quoteIdent(restored)} WITH (FORCE)`).catch(() => undefined);
      throw e;
    }
    for (const sql of swapSql(db, restored, old)) await exec(sql);
    await exec(`DROP DATABASE ${quoteIdent(old)} WITH (FORCE)`);
    const diffs = compareCounts(rec.counts, await liveCounts(ctx, service, user, db));
    if (diffs.length) throw new ClawError(`postgres: row counts after the swap differ: ${diffs.slice(0, 3).join("; ")}`);
  },
};

