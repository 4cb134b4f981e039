/**
 * migrate.mts: typed options from the flags (one mode per run), then one handler per mode:
 * apply (default, or --dry-run), --status, --lint, --rollback <revision> (lib/migrate/downgrade.ts).
 */
import { ExitCode, UsageError } from "../core/errors.ts";
import { displayWidth, localized, msg, padCells } from "../core/i18n/index.ts";
import { REVISION_ID } from "../core/names.ts";
import type { Output } from "../core/output.ts";
import { SCRIPTS } from "../core/vocabulary/scripts.ts";
import { applyMigrations, engineFor, migrationStatus, refuseState } from "../migrate/apply.ts";
import { downgradeTo } from "../migrate/downgrade.ts";
import { freshStart } from "../migrate/fresh.ts";
import { initDatabase } from "../migrate/init.ts";
import { describeLint, lintPending, squawkBinary } from "../migrate/lint.ts";
import { seed } from "../migrate/seed.ts";
import { describeState } from "../migrate/state.ts";
import { openProject, projectRoot } from "../project/project.ts";
import type { ParsedArgs } from "./flags.ts";
import { printResult } from "./result.ts";
import type { ScriptContext } from "./run.ts";
import { withRunLock } from "./run-lock.ts";

const SCRIPT = SCRIPTS.migrate;

export type MigrateCommand =
  | { mode: "apply"; init: boolean; seed: boolean; fresh: boolean; yes: boolean; skipBackup: boolean; dryRun: boolean }
  | { mode: "status" }
  | { mode: "lint" }
  | { mode: "rollback"; revision: string; skipBackup: boolean; yes: boolean };

/** Pure: the typed command of a migrate.mts run. */
export function migrateCommand(args: ParsedArgs): MigrateCommand {
  const f = args.flags;
  const given = (k: string) => f[k] !== undefined && f[k] !== false;
  const modes = (["status", "lint", "rollback"] as const).filter(given);
  if (modes.length > 1) throw new UsageError(msg.migrate.cli.modesConflict({ a: modes[0]!, b: modes[1]! }));
  const mode = modes[0];
  for (const f2 of ["init", "seed", "fresh"] as const) if (mode && given(f2)) throw new UsageError(msg.migrate.cli.notWithMode({ flag: f2, mode }));
  if ((mode === "status" || mode === "lint") && (given("skip-backup") || given("dry-run") || given("yes")))
    throw new UsageError(msg.migrate.cli.readOnlyMode({ mode }));
  if (mode === "status") return { mode };
  if (mode === "lint") return { mode };
  if (mode === "rollback") {
    const revision = String(f.rollback);
    if (!REVISION_ID.test(revision)) throw new UsageError(msg.migrate.cli.notRevisionId({ quoted: JSON.stringify(revision) }));
    if (given("dry-run")) throw new UsageError(msg.migrate.cli.rollbackNoDryRun, msg.migrate.cli.seeRevisionsHint);
    return { mode, revision, skipBackup: given("skip-backup"), yes: given("yes") };
  }
  for (const f2 of ["init", "seed", "fresh"] as const)
    if (given(f2) && given("dry-run")) throw new UsageError(msg.migrate.cli.noDryRun({ flag: f2 }));
  if (given("fresh") && given("skip-backup")) throw new UsageError(msg.migrate.cli.freshNoSkipBackup);
  return {
    mode: "apply",
    init: given("init"),
    seed: given("seed"),
    fresh: given("fresh"),
    yes: given("yes"),
    skipBackup: given("skip-backup") || given("fresh"),
    dryRun: given("dry-run"),
  };
}

export async function migrateMain({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const cmd = migrateCommand(args);
  const project = await openProject({ root });
  if (project.config.migrate.command && cmd.mode !== "apply")
    throw new UsageError(msg.migrate.cli.commandSet({ mode: cmd.mode }), msg.migrate.run.unsetCommandHint);
  if (cmd.mode === "status") return status(project, out);
  if (cmd.mode === "lint") {
    const engine = engineFor(project);
    const s = await migrationStatus(project, engine);
    refuseState(s.state);
    const pending = s.state.kind === "pending" ? s.state.pending : [];
    const lints = await lintPending(project, engine, pending, squawkBinary(), out);
    for (const l of describeLint(lints)) out.info(l);
    if (!pending.length) out.info(msg.migrate.cli.nothingToLint);
    const findings = lints.reduce((n, l) => n + l.findings.length, 0);
    const blocked = findings > 0 && project.config.migrate.lint === "strict";
    printResult(out, { ok: !blocked, lint: lints });
    // Under MIGRATE_LINT=strict the findings would block a run: --lint says so by its exit code (3).
    return blocked ? ExitCode.precondition : 0;
  }
  if (cmd.mode === "rollback") {
    const who = { script: SCRIPT, purpose: `migration rollback to ${cmd.revision}` };
    const r = await withRunLock(root, who, out, () => downgradeTo(project, out, cmd));
    printResult(out, r);
    return 0;
  }
  const run = async () => {
    // --fresh has taken its own backup: the empty database needs no other.
    if (cmd.fresh) await freshStart(project, out, { yes: cmd.yes });
    if (cmd.init || cmd.fresh)
      await out.step(
        localized((c) => c.migrate.cli.initStep),
        () => initDatabase(project, out, project.config.migrate.extensions),
      );
    const outcome = await applyMigrations(project, out, { skipBackup: cmd.skipBackup, dryRun: cmd.dryRun, squawk: squawkBinary() });
    const seeded = cmd.seed ? await seed(project, out) : undefined;
    return seeded ? { ...outcome, seeds: seeded } : outcome;
  };
  const outcome = cmd.dryRun ? await run() : await withRunLock(root, { script: SCRIPT, purpose: "migrations" }, out, run);
  if (outcome.state === "at-head") out.info(msg.migrate.cli.nothingToMigrate);
  if (cmd.dryRun) out.info(msg.migrate.cli.dryRunDone);
  printResult(out, outcome);
  return 0;
}

async function status(project: Awaited<ReturnType<typeof openProject>>, out: Output): Promise<number> {
  const engine = engineFor(project);
  const s = await migrationStatus(project, engine);
  const pending = s.state.kind === "pending" ? s.state.pending : [];
  // A lint that cannot run leaves --status a CI gate: the revisions are "not lintable", the code stays 6.
  const lints = pending.length
    ? await lintPending(project, engine, pending, squawkBinary(), out).catch((e: Error) =>
        pending.map((revision) => ({ revision, findings: [], notLintable: e.message })),
      )
    : [];
  const code =
    s.state.kind === "at-head"
      ? ExitCode.ok
      : s.state.kind === "pending"
        ? ExitCode.migrationsPending
        : s.state.kind === "ahead"
          ? ExitCode.databaseAhead
          : ExitCode.precondition;
  const result = {
    ok: code === ExitCode.ok,
    phase: "status",
    state: s.state.kind,
    current: s.info.current[0] ?? null,
    head: s.info.heads.length === 1 ? s.info.heads[0] : null,
    heads: s.info.heads,
    pending: pending.map((revision) => {
      const r = s.info.revisions.find((x) => x.revision === revision);
      const l = lints.find((x) => x.revision === revision);
      return { revision, file: r?.file, doc: r?.doc, findings: l?.findings ?? [], ...(l?.notLintable ? { notLintable: l.notLintable } : {}) };
    }),
    drift: s.drift,
    exitCode: code,
  };
  if (out.json) {
    printResult(out, result);
    return code;
  }
  const t = msg.migrate.cli.status;
  const width = Math.max(...[t.pending, t.current, t.applied].map(displayWidth));
  const lines = [
    describeState(s.state),
    t.currentAndHead({ current: result.current, heads: s.info.heads.join(", ") }),
    ...s.info.revisions.map((r) =>
      t.row({
        label: padCells(pending.includes(r.revision) ? t.pending : s.info.current.includes(r.revision) ? t.current : t.applied, width),
        revision: r.revision,
        file: r.file,
        doc: r.doc,
      }),
    ),
    ...s.drift.map((d) => t.drift({ file: d.file, revision: d.revision })),
    ...describeLint(lints),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return code;
}
