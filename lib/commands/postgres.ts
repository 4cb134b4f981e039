/**
 * PostgreSQL commands as argv: pg_dump, pg_restore, psql and the sh procedures that run them
 * inside the postgres container (dump and count in one pass, zstd feeding, the drill), plus
 * the parsers of their output. Pure: no I/O, no quoting.
 */
import { createHash } from "node:crypto";
import { msg } from "../core/i18n/index.ts";
import { isBackupId } from "../core/vocabulary/backup-id.ts";

/**
 * How a dump is compressed: `zstd` (pg_dump --compress=0 piped through zstd -3 on all cores,
 * far faster than pg_dump's single-threaded zlib; the official postgres image ships zstd) or
 * `none` beyond pg_dump's own zlib (when the image has no zstd or BACKUP_PG_COMPRESSION is set).
 */
export type Codec = "zstd" | "none";

export const pgDump = (user: string, db: string, compress?: number) => [
  "pg_dump",
  "-U",
  user,
  "-d",
  db,
  "--format=custom",
  ...(compress !== undefined ? [`--compress=${compress}`] : []),
];
export const pgDumpGlobals = (user: string) => ["pg_dumpall", "-U", user, "--globals-only"];
export const pgVersion = () => ["pg_dump", "--version"];

/**
 * Counts the rows of every table in a custom-format dump read from stdin: "schema.table\tN"
 * lines. Exits non-zero when pg_restore cannot decode the dump (no pipefail in dash/ash: a
 * marker line carries the failure through the pipe).
 */
export const DUMP_ROW_COUNT_SCRIPT = [
  "{ pg_restore --data-only --file=- || echo __PG_RESTORE_FAILED__; } | awk '",
  "  /^__PG_RESTORE_FAILED__$/ { failed = 1; next }",
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
export const withDump = (codec: Codec, cmd: readonly string[]) => [
  "sh",
  "-c",
  `${FEED_FUNCTION}\nCODEC=$1; shift\nfeed "$@"`,
  "claw-feed",
  codec,
  ...cmd,
];

/** The counts DUMP_AND_COUNT_SCRIPT printed among other stderr lines. */
export function parseDumpCounts(stderr: string): Record<string, number> {
  return parseCounts(
    stderr
      .split("\n")
      .filter((l) => l.startsWith("COUNT\t"))
      .map((l) => l.slice("COUNT\t".length))
      .join("\n"),
  );
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

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
export const quoteLit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Pure: the working names of a restore. Short and fixed in length whatever the live name, so
 * PostgreSQL never truncates them into the live name (a 63-character POSTGRES_DB once made
 * `DROP DATABASE "<db>__claw_restore"` drop the live database).
 */
export function restoreNames(db: string, stamp: string): { restored: string; old: string } {
  const tag = createHash("sha256").update(db).digest("hex").slice(0, 12);
  const names = { restored: `claw_restore_${tag}`, old: `claw_old_${tag}_${stamp.replace(/[^a-z0-9]/g, "").slice(0, 12)}` };
  if (names.restored === db || names.old === db) throw new Error(msg.project.commands.postgres.collidesRestore({ db }));
  return names;
}

const dbTag = (db: string) => createHash("sha256").update(db).digest("hex").slice(0, 12);
/** The prefix of the in-place snapshots of `db` (keptDatabase). */
export const keptPrefix = (db: string) => `claw_kept_${dbTag(db)}_`;
/**
 * Pure: the name `db` is kept under as the in-place snapshot `tag` (a snapshot id,
 * YYYYMMDD-HHMMSS): fixed in length, so never truncated into another name.
 */
export function keptDatabase(db: string, tag: string): string {
  if (!isBackupId(tag)) throw new Error(msg.project.commands.postgres.notSnapshotTag({ tag: JSON.stringify(tag) }));
  const name = `${keptPrefix(db)}${tag.replace("-", "")}`;
  if (name === db) throw new Error(msg.project.commands.postgres.collidesSnapshot({ db }));
  return name;
}
/** Pure: the tag of an in-place snapshot's database name, or undefined when it is not one of db's. */
export function keptTagOf(db: string, name: string): string | undefined {
  const rest = name.startsWith(keptPrefix(db)) ? name.slice(keptPrefix(db).length) : "";
  const tag = `${rest.slice(0, 8)}-${rest.slice(8)}`; // keptDatabase drops the id's "-"
  return isBackupId(tag) ? tag : undefined;
}
/** SQL: the in-place snapshots of `db`, one name per line. */
export const keptDatabasesSql = (db: string) =>
  `SELECT datname FROM pg_database WHERE left(datname, ${keptPrefix(db).length}) = ${quoteLit(keptPrefix(db))} ORDER BY datname`;
/** SQL: a copy of an in-place snapshot, file by file (it has no connections: nobody uses it). */
export const copyDatabaseSql = (db: string, from: string, owner: string, serverVersionNum: number) =>
  `CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(owner)} TEMPLATE ${quoteIdent(from)}${serverVersionNum >= 150000 ? " STRATEGY FILE_COPY" : ""}`;
export const serverVersionNumSql = () => "SHOW server_version_num";

export interface SqlStep {
  sql: string;
  /** Run when a later step fails, to put things back. */
  undo?: string;
}

/**
 * SQL that swaps the restored database in for the live one (run in the `postgres` db), each
 * step with its undo: if a step fails, the steps done so far are undone in reverse, so the
 * live database keeps its name and accepts connections again.
 */
export function swapSteps(db: string, restored: string, old: string, kept?: string): SqlStep[] {
  const allow = (name: string, yes: boolean) => `ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS ${yes}`;
  const rename = (from: string, to: string) => `ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`;
  return [
    { sql: allow(db, false), undo: allow(db, true) },
    { sql: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLit(db)} AND pid <> pg_backend_pid()` },
    { sql: rename(db, old), undo: rename(old, db) },
    { sql: rename(restored, db), undo: rename(db, restored) },
    { sql: allow(db, true) },
    // An in-place snapshot: what was live gets its snapshot name only once the restored one is
    // live, so a swap killed before that is undone by swapRecovery (the newest claw_old_* back).
    ...(kept
      ? [
          { sql: rename(old, kept), undo: rename(kept, old) },
          // It stays readable (an in-place snapshot is verified by its row counts).
          { sql: allow(kept, true) },
        ]
      : []),
  ];
}

/** Exit 0 when the container has zstd. */
export const hasZstd = () => ["sh", "-c", "command -v zstd"];

/** argv: pg_dump of `db` to stdout (zstd-compressed for that codec), row counts on stderr (see DUMP_AND_COUNT_SCRIPT). */
export const dumpAndCount = (codec: Codec, user: string, db: string, compress?: number) => [
  "sh",
  "-c",
  DUMP_AND_COUNT_SCRIPT,
  "claw-dump",
  codec,
  ...pgDump(user, db, compress),
];

/** argv: pg_restore --list of a dump on stdin (proves the whole archive reads). */
export const listDump = (codec: Codec) => withDump(codec, ["pg_restore", "--list"]);

/** argv: restore a dump from stdin into `db`, stopping at the first error. */
export const restoreDump = (codec: Codec, user: string, db: string) =>
  withDump(codec, ["pg_restore", "-U", user, "-d", db, "--exit-on-error", "--no-password"]);

/** The command of a throwaway drill container (entrypoint sh, user postgres): see DRILL_SCRIPT. */
export const drillCommand = (owner: string, codec: Codec) => ["-c", DRILL_SCRIPT, "claw-drill", owner, ROW_COUNT_SQL, codec];

/** WITH (FORCE): a pg_restore left running by a killed run may still be connected to it. */
export const dropDatabaseSql = (db: string, { ifExists = true }: { ifExists?: boolean } = {}) =>
  `DROP DATABASE ${ifExists ? "IF EXISTS " : ""}${quoteIdent(db)} WITH (FORCE)`;
/**
 * SQL: the databases a swap (swapSteps) works with, as `name|allowconn` lines: the live one
 * and the old ones a swap renamed it to (`claw_old_<tag>_*`).
 */
export const swapStateSql = (db: string) => {
  const tag = restoreNames(db, "x").old.replace(/x$/, "");
  return `SELECT datname || '|' || datallowconn FROM pg_database WHERE datname = ${quoteLit(db)} OR left(datname, ${tag.length}) = ${quoteLit(tag)} ORDER BY datname`;
};

/**
 * Pure: what puts the live database back after a swap that was killed half-way (see
 * swapSteps): renamed away → the newest old one gets its name back; still refusing
 * connections → allowed again. Old copies left beside a live database are only reported:
 * the killed run's snapshot holds that state, and nothing is dropped unasked.
 */
export function swapRecovery(db: string, stateLines: string): { sql: string[]; leftovers: string[]; kept?: string[] } {
  const rows = stateLines
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.lastIndexOf("|");
      // A boolean cast to text is `true`/`false` (what psql -At prints for swapStateSql on
      // PostgreSQL 15); `t`/`f` is its plain column output. Anything else is not allowed.
      const v = l.slice(i + 1);
      return { name: l.slice(0, i), allow: v === "true" || v === "t" };
    });
  const live = rows.find((r) => r.name === db);
  const olds = rows.filter((r) => r.name !== db).sort((a, b) => a.name.localeCompare(b.name));
  const allow = (name: string) => `ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`;
  if (!live) {
    // The one renamed away refuses connections (step 1 of the swap); among several, a
    // snapshot-id stamp (12 digits) is newer than the base-36 stamps of older versions.
    const rank = (r: { name: string; allow: boolean }) => (r.allow ? 0 : 2) + (/_\d{12}$/.test(r.name) ? 1 : 0);
    const back = [...olds].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)).at(-1);
    if (!back) return { sql: [], leftovers: [] };
    return {
      sql: [`ALTER DATABASE ${quoteIdent(back.name)} RENAME TO ${quoteIdent(db)}`, allow(db)],
      leftovers: olds.filter((r) => r !== back).map((r) => r.name),
    };
  }
  // What was live before a swap that died just before giving it its in-place snapshot name
  // (its stamp is the snapshot's id): it gets that name, so the snapshot holds it.
  const sql = live.allow ? [] : [allow(db)];
  const leftovers: string[] = [];
  const kept: string[] = [];
  for (const o of olds) {
    const stamp = /_(\d{12})$/.exec(o.name)?.[1];
    const name = stamp ? keptDatabase(db, `20${stamp.slice(0, 6)}-${stamp.slice(6)}`) : undefined;
    if (name) {
      sql.push(`ALTER DATABASE ${quoteIdent(o.name)} RENAME TO ${quoteIdent(name)}`, allow(name));
      kept.push(name);
    } else leftovers.push(o.name);
  }
  return { sql, leftovers, kept };
}

export const createDatabaseSql = (db: string, owner: string) => `CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(owner)} TEMPLATE template0`;

/** Whether a database exists (prints 1 or nothing). */
export const databaseExistsSql = (db: string) => `SELECT 1 FROM pg_database WHERE datname = ${quoteLit(db)}`;
export const createExtensionSql = (ext: string) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)}`;

/** The table that records which seed files ran, by name and sha256. */
export const SEEDS_TABLE = "claw_ops_seeds";
export const seedsTableSql = () =>
  `CREATE TABLE IF NOT EXISTS ${SEEDS_TABLE} (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
/** "name<TAB>sha256" per recorded seed. */
export const seedsRecordedSql = () => `SELECT name || chr(9) || sha256 FROM ${SEEDS_TABLE} ORDER BY name`;
export const recordSeedSql = (name: string, sha: string) => `INSERT INTO ${SEEDS_TABLE} (name, sha256) VALUES (${quoteLit(name)}, ${quoteLit(sha)})`;

/** One seed file from stdin and its record, in one transaction: both or neither. */
export const applySeed = (user: string, db: string, recordSql: string) => [
  "psql",
  "-U",
  user,
  "-d",
  db,
  "-v",
  "ON_ERROR_STOP=1",
  "--single-transaction",
  "-q",
  "-f",
  "-",
  "-c",
  recordSql,
];
