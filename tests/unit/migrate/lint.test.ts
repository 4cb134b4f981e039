import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  describeLint,
  type Finding,
  lintReport,
  lintRevisions,
  logLint,
  ownFindings,
  parseSquawk,
  SQUAWK_EXCLUDED,
  sessionSql,
  squawkBinary,
  squawkFindings,
} from "../../../lib/migrate/lint.ts";
import { fakeBin, ROOT, tmp, write } from "../helpers.ts";

const SQUAWK = join(ROOT, "node_modules", "@squawk-cli", `${process.platform}-${process.arch}`, "bin", "squawk");
const CONCURRENTLY_MESSAGE =
  "CONCURRENTLY inside a transaction fails at once: run it in its own revision outside the transaction (op.get_context().autocommit_block())";

/** Findings without their (squawk-worded) messages, for exact comparison of what was found where. */
const TIMEOUTS = { lockTimeout: "5s", statementTimeout: "0" };
const where = (fs: readonly Finding[]) => fs.map(({ revision, rule, line, source }) => ({ revision, rule, line, source }));

test("squawkBinary is squawk as npm installed it under node_modules/.bin", () => {
  assert.ok(existsSync(SQUAWK), "squawk-cli is a dependency: run npm ci");
  assert.equal(squawkBinary(), SQUAWK);
});

test("sessionSql prepends the session's lock_timeout and statement_timeout, quoted, before Alembic's own SQL", () => {
  assert.equal(
    sessionSql("BEGIN;\nSELECT 1;\nCOMMIT;\n", { lockTimeout: "5s", statementTimeout: "10min" }),
    "SET lock_timeout = '5s';\nSET statement_timeout = '10min';\nBEGIN;\nSELECT 1;\nCOMMIT;\n",
  );
});

test('sessionSql leaves out a timeout that is "0" (none), and returns the SQL untouched when both are', () => {
  assert.equal(sessionSql("SELECT 1;\n", { lockTimeout: "5s", statementTimeout: "0" }), "SET lock_timeout = '5s';\nSELECT 1;\n");
  assert.equal(sessionSql("SELECT 1;\n", { lockTimeout: "0", statementTimeout: "30s" }), "SET statement_timeout = '30s';\nSELECT 1;\n");
  assert.equal(sessionSql("SELECT 1;\n", { lockTimeout: "0", statementTimeout: "0" }), "SELECT 1;\n");
});

test("ownFindings flags CONCURRENTLY inside BEGIN…COMMIT with its 1-based line", () => {
  const sql = "SET lock_timeout = '5s';\nBEGIN;\nCREATE TABLE t (c int);\nCREATE INDEX CONCURRENTLY i ON t (c);\nCOMMIT;\n";
  assert.deepEqual(ownFindings("0002_idx", sql), [
    { revision: "0002_idx", rule: "concurrently-in-transaction", message: CONCURRENTLY_MESSAGE, line: 4, source: "claw-ops" },
  ]);
});

test("ownFindings is case-insensitive and knows START TRANSACTION", () => {
  const sql = "start transaction;\n  drop index concurrently i;\ncommit;\n";
  assert.deepEqual(where(ownFindings("r", sql)), [{ revision: "r", rule: "concurrently-in-transaction", line: 2, source: "claw-ops" }]);
});

test("ownFindings does not flag CONCURRENTLY outside a transaction (before BEGIN, after COMMIT or ROLLBACK, in an autocommit block)", () => {
  assert.deepEqual(ownFindings("r", "CREATE INDEX CONCURRENTLY i ON t (c);\n"), []);
  assert.deepEqual(ownFindings("r", "BEGIN;\nSELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (c);\n"), []);
  assert.deepEqual(ownFindings("r", "BEGIN;\nROLLBACK;\nREINDEX INDEX CONCURRENTLY i;\n"), []);
  // Alembic's autocommit_block() in offline SQL: COMMIT, the statement, BEGIN again.
  const autocommit =
    "BEGIN;\nCREATE TABLE t (c int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (c);\nBEGIN;\nUPDATE alembic_version SET version_num='0002';\nCOMMIT;\n";
  assert.deepEqual(ownFindings("r", autocommit), []);
});

test("ownFindings reports every CONCURRENTLY line of a transaction", () => {
  const sql = "BEGIN;\nCREATE INDEX CONCURRENTLY a ON t (c);\nCREATE INDEX CONCURRENTLY b ON t (d);\nCOMMIT;\n";
  assert.deepEqual(
    ownFindings("r", sql).map((f) => f.line),
    [2, 3],
  );
});

/** squawk 2.66's JSON report (captured) for two files: help text on one row, help null on another. */
const SAMPLE = JSON.stringify([
  {
    file: "/tmp/claw-lint-abc/0001_add_index.sql",
    line: 0,
    column: 0,
    level: "Warning",
    message: "During normal index creation, table updates are blocked, but reads are still allowed.",
    help: "Use `concurrently` to avoid blocking writes.",
    rule_name: "require-concurrent-index-creation",
    column_end: 24,
    line_end: 0,
  },
  {
    file: "/tmp/claw-lint-abc/0002_b.sql",
    line: 1,
    column: 14,
    level: "Warning",
    message: "Missing `IF NOT EXISTS`, the migration can't be rerun if it fails part way through.",
    help: null,
    rule_name: "prefer-robust-stmts",
    column_end: 39,
    line_end: 1,
  },
]);

test("parseSquawk turns squawk's JSON rows into findings: revision from the file name, line 1-based, help appended", () => {
  assert.deepEqual(parseSquawk(`${SAMPLE}\n`), [
    {
      revision: "0001_add_index",
      rule: "require-concurrent-index-creation",
      message: "During normal index creation, table updates are blocked, but reads are still allowed. Use `concurrently` to avoid blocking writes.",
      line: 1,
      source: "squawk",
    },
    {
      revision: "0002_b",
      rule: "prefer-robust-stmts",
      message: "Missing `IF NOT EXISTS`, the migration can't be rerun if it fails part way through.",
      line: 2,
      source: "squawk",
    },
  ]);
});

test("parseSquawk of an empty report (nothing, or []) is no findings", () => {
  assert.deepEqual(parseSquawk(""), []);
  assert.deepEqual(parseSquawk("  \n"), []);
  assert.deepEqual(parseSquawk("[]\n"), []);
});

test("parseSquawk reads the report the installed squawk really prints for CREATE INDEX without CONCURRENTLY", () => {
  const dir = tmp("squawk");
  write(dir, "0001_add_index.sql", "CREATE INDEX i ON t (c);\n");
  const r = spawnSync(SQUAWK, ["--reporter", "json", join(dir, "0001_add_index.sql")], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr); // squawk exits 1 when it found something
  assert.deepEqual(where(parseSquawk(r.stdout)), [
    { revision: "0001_add_index", rule: "prefer-robust-stmts", line: 1, source: "squawk" },
    { revision: "0001_add_index", rule: "require-concurrent-index-creation", line: 1, source: "squawk" },
    { revision: "0001_add_index", rule: "require-lock-timeout", line: 1, source: "squawk" },
    { revision: "0001_add_index", rule: "require-statement-timeout", line: 1, source: "squawk" },
  ]);
  const concurrent = parseSquawk(r.stdout).find((f) => f.rule === "require-concurrent-index-creation")!;
  assert.equal(
    concurrent.message,
    "During normal index creation, table updates are blocked, but reads are still allowed. Use `concurrently` to avoid blocking writes.",
  );
});

test("every rule in SQUAWK_EXCLUDED is one the installed squawk accepts in --exclude", {}, () => {
  const dir = tmp("squawk");
  write(dir, "ok.sql", "SELECT 1;\n");
  const rejected = SQUAWK_EXCLUDED.filter(
    (rule) => spawnSync(SQUAWK, ["--reporter", "json", "--exclude", rule, join(dir, "ok.sql")], { encoding: "utf8" }).status !== 0,
  );
  assert.deepEqual(rejected, []);
});

test("squawkFindings with no revisions runs nothing", async () => {
  assert.deepEqual(await squawkFindings("/nonexistent/squawk", {}), []);
});

test("squawkFindings throws squawk's error line when squawk fails without a JSON report", async () => {
  const bin = fakeBin("squawk", "echo 'error: invalid value' >&2\necho \"For more information, try '--help'.\" >&2\nexit 2");
  await assert.rejects(squawkFindings(join(bin, "squawk"), { r1: "SELECT 1;\n" }), {
    message: "squawk failed: error: invalid value",
  });
});

test("squawkFindings reads a failing squawk's JSON report (exit 1 means findings), by revision", async () => {
  const dir = tmp("squawk");
  write(dir, "report.json", SAMPLE);
  const bin = fakeBin("squawk", `cat '${join(dir, "report.json")}'\nexit 1`);
  assert.deepEqual(where(await squawkFindings(join(bin, "squawk"), { "0001_add_index": "x", "0002_b": "y" })), [
    { revision: "0001_add_index", rule: "require-concurrent-index-creation", line: 1, source: "squawk" },
    // Line 2 of 0002_b's file, whose first line is 0001's SQL: line 1 of its own.
    { revision: "0002_b", rule: "prefer-robust-stmts", line: 1, source: "squawk" },
  ]);
});

test("a revision is linted after the pending ones before it: an index on a table an earlier one creates is no finding", async () => {
  // Each in its own transaction, as Alembic's offline SQL has them.
  const found = await squawkFindings(SQUAWK, {
    "0001_create": "BEGIN;\nCREATE TABLE t (c int);\nCOMMIT;\n",
    "0002_index": "BEGIN;\nCREATE INDEX i ON t (c);\nCOMMIT;\n",
  });
  assert.deepEqual(
    found.filter((f) => f.rule === "require-concurrent-index-creation"),
    [],
  );
  const alone = await squawkFindings(SQUAWK, { "0002_index": "BEGIN;\nCREATE INDEX i ON t (c);\nCOMMIT;\n" });
  assert.ok(alone.some((f) => f.rule === "require-concurrent-index-creation"));
});

test("squawkFindings runs the real squawk on one file per revision: findings by revision, style rules left out", {}, async () => {
  const timeouts = { lockTimeout: "5s", statementTimeout: "0" };
  const found = await squawkFindings(SQUAWK, {
    "0001_add_index": "CREATE INDEX i ON t (c);\n",
    "0002_required": sessionSql("BEGIN;\nALTER TABLE t ADD COLUMN c int NOT NULL;\nCOMMIT;\n", timeouts),
  });
  assert.deepEqual(where(found), [
    { revision: "0001_add_index", rule: "require-concurrent-index-creation", line: 1, source: "squawk" },
    { revision: "0001_add_index", rule: "require-lock-timeout", line: 1, source: "squawk" },
    // The SET lock_timeout claw-ops prepends satisfies require-lock-timeout; statement_timeout 0 is not set.
    { revision: "0002_required", rule: "adding-required-field", line: 3, source: "squawk" },
  ]);
  const rules = new Set(found.map((f) => f.rule));
  for (const excluded of SQUAWK_EXCLUDED) assert.ok(!rules.has(excluded), excluded);
});

test("describeLint prints a not-lintable line, a no-findings line, and one line per finding", () => {
  assert.deepEqual(
    describeLint([
      { revision: "0001", notLintable: "NotImplementedError: offline mode", findings: [] },
      { revision: "0002", findings: [] },
      {
        revision: "0003",
        findings: [
          { revision: "0003", rule: "concurrently-in-transaction", message: "CONCURRENTLY in a transaction", line: 4, source: "claw-ops" },
          { revision: "0003", rule: "some-rule", message: "no line", source: "squawk" },
        ],
      },
    ]),
    [
      "0001: not lintable (NotImplementedError: offline mode)",
      "0002: no findings",
      "0003: concurrently-in-transaction (line 4): CONCURRENTLY in a transaction",
      "0003: some-rule: no line",
    ],
  );
  assert.deepEqual(describeLint([]), []);
});

test("a clean revision's lint line is info, not a warning; a finding and a revision that cannot be linted stay warnings", () => {
  assert.deepEqual(
    lintReport([
      { revision: "0001", findings: [] },
      { revision: "0002", notLintable: "NotImplementedError: offline mode", findings: [] },
      { revision: "0003", findings: [{ revision: "0003", rule: "some-rule", message: "a finding", line: 2, source: "squawk" }] },
    ]),
    [
      { level: "info", text: "0001: no findings" },
      { level: "warn", text: "0002: not lintable (NotImplementedError: offline mode)" },
      { level: "warn", text: "0003: some-rule (line 2): a finding" },
    ],
  );
});

test("before a run, a clean revision's lint line is logged as info, not as a warning (WARN 0001: no findings); findings stay warnings", () => {
  const logged: string[] = [];
  logLint(
    [
      { revision: "0001", findings: [] },
      { revision: "0002", findings: [{ revision: "0002", rule: "some-rule", message: "a finding", source: "squawk" }] },
    ],
    { info: (m) => logged.push(`INFO ${m}`), warn: (m) => logged.push(`WARN ${m}`) },
  );
  assert.deepEqual(logged, ["INFO 0001: no findings", "WARN 0002: some-rule: a finding"]);
});

test("lintRevisions lints each pending revision's SQL as the session runs it (SETs first), with claw-ops' own rules", () => {
  const rendered = {
    "0002": { sql: "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (c);\nCOMMIT;\n" },
    "0003": { sql: "BEGIN;\nALTER TABLE t ADD COLUMN d text;\nCOMMIT;\n" },
  };
  assert.deepEqual(lintRevisions(["0002", "0003"], rendered, TIMEOUTS), {
    lints: [
      {
        revision: "0002",
        findings: [
          {
            revision: "0002",
            rule: "concurrently-in-transaction",
            message:
              "CONCURRENTLY inside a transaction fails at once: run it in its own revision outside the transaction (op.get_context().autocommit_block())",
            line: 3, // counted in the session SQL: the SET lock_timeout line comes first
            source: "claw-ops",
          },
        ],
      },
      { revision: "0003", findings: [] },
    ],
    sql: {
      "0002": "SET lock_timeout = '5s';\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (c);\nCOMMIT;\n",
      "0003": "SET lock_timeout = '5s';\nBEGIN;\nALTER TABLE t ADD COLUMN d text;\nCOMMIT;\n",
    },
  });
});

test("a revision whose render failed is not lintable with the driver's error; one never rendered says so; neither goes to squawk", () => {
  const rendered = {
    "0002": { error: "NotImplementedError: this revision reads data" },
    "0004": { sql: "SELECT 1;\n" },
  };
  assert.deepEqual(lintRevisions(["0002", "0003", "0004"], rendered, TIMEOUTS), {
    lints: [
      { revision: "0002", notLintable: "NotImplementedError: this revision reads data", findings: [] },
      { revision: "0003", notLintable: "no SQL rendered", findings: [] },
      { revision: "0004", findings: [] },
    ],
    sql: { "0004": "SET lock_timeout = '5s';\nSELECT 1;\n" },
  });
});

test("lintRevisions keeps the pending order and lints only pending revisions", () => {
  const r = lintRevisions(["0003", "0002"], { "0001": { sql: "x" }, "0002": { sql: "y" }, "0003": { sql: "z" } }, TIMEOUTS);
  assert.deepEqual(
    r.lints.map((l) => l.revision),
    ["0003", "0002"],
  );
  assert.deepEqual(Object.keys(r.sql).sort(), ["0002", "0003"]);
});
