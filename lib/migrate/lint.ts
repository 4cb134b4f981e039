/**
 * Lint of pending revisions before they run: their offline SQL (Alembic `--sql`) checked by
 * squawk (its JSON reporter), plus claw-ops' own rules for what squawk does not cover.
 * The session's own lock_timeout / statement_timeout (set by claw-ops) are prepended, so the
 * SQL linted is the SQL the session runs. Pure, except `squawkFindings` (runs squawk) and
 * `lintPending` (the lint phase: renders the SQL through the engine, then runs squawk).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { squawkJson } from "../commands/squawk.ts";
import { PreconditionError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { REVISION_ID } from "../core/names.ts";
import type { Output } from "../core/output.ts";
import { type Project, repoRoot } from "../project/project.ts";
import type { MigrationEngine } from "./engine.ts";

/**
 * squawk's binary: the platform package npm installed (@squawk-cli/<os>-<cpu>, an optional
 * dependency: the registry has only linux-x64 here, and squawk-cli's own optional dependencies
 * on the other platforms' packages would make `npm ci` refuse the lock file), or squawk-cli's
 * launcher if an operator installed that. Undefined when neither is there (own rules only).
 */
export function squawkBinary(): string | undefined {
  const nm = join(repoRoot(), "node_modules");
  return [join(nm, "@squawk-cli", `${process.platform}-${process.arch}`, "bin", "squawk"), join(nm, ".bin", "squawk")].find((b) => existsSync(b));
}

export interface Finding {
  revision: string;
  rule: string;
  message: string;
  /** 1-based line in the revision's SQL as linted. */
  line?: number;
  source: "squawk" | "claw-ops";
}

export interface RevisionLint {
  revision: string;
  /** Offline SQL could not be rendered (e.g. the revision reads data): reported, never a crash. */
  notLintable?: string;
  findings: Finding[];
  /** The SQL linted (the session's SETs first), when it could be rendered. */
  sql?: string;
}

/** squawk rules about style, not about locks or data: left out. */
export const SQUAWK_EXCLUDED = [
  "prefer-robust-stmts",
  "prefer-bigint-over-int",
  "prefer-bigint-over-smallint",
  "prefer-identity",
  "prefer-text-field",
  "prefer-timestamptz",
  "ban-char-field",
  "transaction-nesting",
  // claw-ops sets lock_timeout for the session (prepended below); a statement_timeout would cut a
  // legitimate long backfill, so its absence is not a finding.
  "require-statement-timeout",
];

/** Pure: the SQL as the migration session runs it (claw-ops' SETs first; Alembic's own BEGIN/COMMIT kept). */
export function sessionSql(sql: string, t: { lockTimeout: string; statementTimeout: string }): string {
  const sets = [
    t.lockTimeout !== "0" ? `SET lock_timeout = '${t.lockTimeout}';` : "",
    t.statementTimeout !== "0" ? `SET statement_timeout = '${t.statementTimeout}';` : "",
  ].filter(Boolean);
  return `${sets.join("\n")}${sets.length ? "\n" : ""}${sql}`;
}

/** Pure: claw-ops' own rules, for what squawk lacks or words for another audience. */
export function ownFindings(revision: string, sql: string): Finding[] {
  const out: Finding[] = [];
  const lines = sql.split("\n");
  let inTx = false;
  lines.forEach((raw, i) => {
    const l = raw.trim().toUpperCase();
    if (/^BEGIN\b|^START TRANSACTION\b/.test(l)) inTx = true;
    if (/^(COMMIT|END|ROLLBACK)\b/.test(l)) inTx = false;
    if (inTx && /\bCONCURRENTLY\b/.test(l))
      out.push({
        revision,
        rule: "concurrently-in-transaction",
        message: msg.migrate.lint.concurrentlyInTransaction,
        line: i + 1,
        source: "claw-ops",
      });
  });
  return out;
}

/** Pure: squawk's JSON report as findings, by revision (one SQL file per revision, named <revision>.sql). */
export function parseSquawk(json: string): Finding[] {
  const text = json.trim();
  if (!text) return [];
  const rows = JSON.parse(text) as Array<{ file: string; line: number; message: string; help?: string | null; rule_name: string }>;
  return rows.map((r) => ({
    revision: r.file.replace(/^.*\//, "").replace(/\.sql$/, ""),
    rule: r.rule_name,
    message: r.help ? `${r.message} ${r.help}` : r.message,
    line: r.line + 1,
    source: "squawk" as const,
  }));
}

/** Run squawk on each revision's SQL (one file each, in the order given); its exit status says only whether it found something. */
export async function squawkFindings(binary: string, sqlByRevision: Readonly<Record<string, string>>): Promise<Finding[]> {
  const names = Object.keys(sqlByRevision);
  if (names.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "claw-lint-"));
  // Each revision is linted after the SQL of the pending ones before it (in order), so a table
  // an earlier pending revision creates counts as new: an index on it is no finding. Only the
  // revision's own lines are reported.
  const offset: Record<string, number> = {};
  try {
    const files = names.map((rev, i) => {
      const before = names
        .slice(0, i)
        .map((n) => sqlByRevision[n]!.replace(/\n$/, ""))
        .join("\n");
      offset[rev] = before ? before.split("\n").length : 0;
      // Checked again where it becomes a path (engine.info checked the driver's report).
      if (!REVISION_ID.test(rev)) throw new PreconditionError(msg.migrate.engine.badRevisionId({ id: JSON.stringify(rev) }));
      const f = join(dir, `${rev}.sql`);
      writeFileSync(f, before ? `${before}\n${sqlByRevision[rev]!}` : sqlByRevision[rev]!, { mode: 0o600 });
      return f;
    });
    const r = await run({ argv: squawkJson(binary, files, SQUAWK_EXCLUDED) }, { allowFailure: true, timeoutMs: 60_000 });
    if (r.status !== 0 && !r.stdout.trim().startsWith("[")) {
      const why = (r.stderr || r.stdout).split("\n").find((l) => /error/i.test(l)) ?? lastLine(r.stderr || r.stdout);
      throw new Error(msg.migrate.lint.squawkFailed({ why: why.trim() }));
    }
    return parseSquawk(r.stdout)
      .filter((f) => (f.line ?? 1) > (offset[f.revision] ?? 0))
      .map((f) => (f.line === undefined ? f : { ...f, line: f.line - (offset[f.revision] ?? 0) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line of the lint report and the level it is logged at before a run. */
export interface LintLine {
  level: "info" | "warn";
  text: string;
}

/**
 * Pure: the lint report as lines with their level: a revision with no findings is info (a clean
 * lint is no warning), a finding or a revision that could not be linted a warning.
 */
export function lintReport(lints: readonly RevisionLint[]): LintLine[] {
  const lines: LintLine[] = [];
  for (const l of lints) {
    if (l.notLintable) lines.push({ level: "warn", text: msg.migrate.lint.notLintable({ revision: l.revision, reason: l.notLintable }) });
    else if (l.findings.length === 0) lines.push({ level: "info", text: msg.migrate.lint.noFindings({ revision: l.revision }) });
    for (const f of l.findings)
      lines.push({ level: "warn", text: msg.migrate.lint.finding({ revision: l.revision, rule: f.rule, line: f.line, message: f.message }) });
  }
  return lines;
}

/** Pure: the lint report as printable lines. */
export function describeLint(lints: readonly RevisionLint[]): string[] {
  return lintReport(lints).map((l) => l.text);
}

/** Pure: the lint of each pending revision from its rendered SQL (squawk findings merged in by the caller). */
export function lintRevisions(
  pending: readonly string[],
  rendered: Readonly<Record<string, { sql?: string; error?: string }>>,
  timeouts: { lockTimeout: string; statementTimeout: string },
): { lints: RevisionLint[]; sql: Record<string, string> } {
  const sql: Record<string, string> = {};
  const lints = pending.map((revision) => {
    const r = rendered[revision];
    if (!r?.sql) return { revision, notLintable: r?.error ?? msg.migrate.run.noSqlRendered, findings: [] };
    sql[revision] = sessionSql(r.sql, timeouts);
    return { revision, findings: ownFindings(revision, sql[revision]!) };
  });
  return { lints, sql };
}

/**
 * The lint phase: each pending revision's SQL as the engine renders it, checked by our rules and
 * squawk's. Without squawk, own rules only (a warning), or refused when MIGRATE_LINT is strict.
 */
export async function lintPending(
  project: Project,
  engine: MigrationEngine,
  pending: readonly string[],
  squawk: string | undefined,
  out: Output,
): Promise<RevisionLint[]> {
  const { lints, sql } = lintRevisions(pending, await engine.sql(pending), project.config.migrate);
  const withSql = (l: RevisionLint): RevisionLint => (sql[l.revision] ? { ...l, sql: sql[l.revision]! } : l);
  if (!squawk) {
    if (project.config.migrate.lint === "strict")
      throw new PreconditionError(msg.migrate.run.strictWithoutSquawk, msg.migrate.run.strictWithoutSquawkHint);
    out.warn(msg.migrate.run.squawkMissing);
    return lints.map(withSql);
  }
  const found = await squawkFindings(squawk, sql);
  return lints.map((l) => {
    const theirs = found.filter((f) => f.revision === l.revision);
    // squawk names CONCURRENTLY in a transaction itself: ours only where it did not.
    const ours = l.findings.filter(
      (f) => !(f.rule === "concurrently-in-transaction" && theirs.some((t) => t.rule === "ban-concurrent-index-creation-in-transaction")),
    );
    return withSql({ ...l, findings: [...theirs, ...ours] });
  });
}

/** The lint report before a run: a clean revision's line is info, a finding or an unlintable revision a warning. */
export function logLint(lints: readonly RevisionLint[], out: Pick<Output, "info" | "warn">): void {
  for (const l of lintReport(lints)) out[l.level](l.text);
}
