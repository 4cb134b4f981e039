/**
 * rollback.mts: typed options from the flags, the backup chosen (index, --backup, or a prompt
 * on a TTY), then the shared restore flow with a pre-rollback snapshot and a health proof.
 */
import { relative } from "node:path";
import { COMPONENTS, type ComponentName, readManifest } from "../backup/manifest.ts";
import { backupEntries, formatBytes, listBackups, resolveBackupDir } from "../backup/store.ts";
import { InvalidBackupError, UsageError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { choose } from "../core/prompts.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import { openProject, projectRoot } from "../project/project.ts";
import { restoreFlow } from "../restore/flow.ts";
import { readUndo } from "../restore/undo.ts";
import { listCommand } from "./backup.ts";
import type { ParsedArgs } from "./flags.ts";
import { printResult } from "./result.ts";
import type { ScriptContext } from "./run.ts";
import { inputFlags, withRunLock } from "./run-lock.ts";

const SCRIPT = SCRIPTS.rollback;
const SKIPS: Record<string, ComponentName> = {
  "skip-db": "postgres",
  "skip-redis": "redis",
  "skip-milvus": "milvus",
  "skip-uploads": "uploads",
  "skip-config": "config",
};

export type RollbackCommand =
  | { mode: "list" }
  | {
      mode: "rollback";
      /** An index as --list shows it, a directory, the last undo point, or none (a prompt on a TTY). */
      target: { index: string } | { dir: string } | { undo: true } | undefined;
      components: ComponentName[];
      identity: string | undefined;
      dryRun: boolean;
      yes: boolean;
      allowPlaintext: boolean;
    };

/** Pure: the components a rollback restores, from the --skip-* flags. */
export function rollbackComponents(flags: Record<string, unknown>): ComponentName[] {
  const skipped = new Set(
    Object.entries(SKIPS)
      .filter(([f]) => flags[f] === true)
      .map(([, c]) => c),
  );
  return COMPONENTS.filter((c) => !skipped.has(c));
}

/** Pure: the typed command of a rollback.mts run. */
export function rollbackCommand(args: ParsedArgs): RollbackCommand {
  const f = args.flags;
  if (f.list) {
    const other = ["backup", "undo", "dry-run", "yes", "identity", "allow-plaintext", ...Object.keys(SKIPS)].find(
      (k) => f[k] !== undefined && f[k] !== false,
    );
    if (other || args.positionals.length)
      throw new UsageError(other ? msg.restore.cli.rollback.listTakesNoFlag({ flag: `--${other}` }) : msg.restore.cli.rollback.listTakesNoIndex);
    return { mode: "list" };
  }
  const t = msg.restore.cli.rollback;
  if (f.backup !== undefined && args.positionals.length) throw new UsageError(t.indexAndBackup);
  if (f.undo && (f.backup !== undefined || args.positionals.length)) throw new UsageError(t.undoTakesNoTarget);
  const index = args.positionals[0];
  const components = rollbackComponents(f);
  if (components.length === 0) throw new UsageError(t.allSkipped);
  if (f.undo && components.length !== COMPONENTS.length) throw new UsageError(t.undoTakesNoSkips);
  return {
    mode: "rollback",
    target: f.undo ? { undo: true } : f.backup !== undefined ? { dir: String(f.backup) } : index !== undefined ? { index } : undefined,
    components,
    identity: f.identity === undefined ? undefined : String(f.identity),
    dryRun: f["dry-run"] === true,
    yes: f.yes === true,
    allowPlaintext: f["allow-plaintext"] === true,
  };
}

/** Pure: which backup an index names ("1" = newest). */
export function pickByIndex<T>(rows: readonly T[], given: string): T {
  const t = msg.restore.cli.rollback;
  if (!/^\d+$/.test(given)) throw new UsageError(t.indexNotNumber({ given: JSON.stringify(given) }), t.seeIndexes);
  const i = Number(given);
  if (rows.length === 0) throw new UsageError(t.noBackups, t.noBackupsHint);
  if (i < 1 || i > rows.length) throw new UsageError(t.indexOutOfRange({ index: i, count: rows.length }), t.seeIndexes);
  return rows[i - 1]!;
}

/** Pure: the command that finishes a rollback to `dir` if this run dies: the same backup by path, the same components. */
export function finishCommand(
  root: string,
  dir: string,
  components: readonly ComponentName[],
  o: { identity?: string | undefined; allowPlaintext?: boolean } = {},
): string {
  const skips = Object.entries(SKIPS)
    .filter(([, c]) => !components.includes(c))
    .map(([f]) => `--${f}`);
  return operatorCommand(SCRIPT, ["--backup", relative(root, dir), ...skips, ...inputFlags(o), "-y"]);
}

async function chooseBackup(root: string, target: Extract<RollbackCommand, { mode: "rollback" }>["target"]): Promise<string> {
  if (target && "undo" in target) return resolveBackupDir(root, readUndo(root).snapshot);
  if (target && "dir" in target) return resolveBackupDir(root, target.dir);
  const rows = backupEntries(listBackups(root));
  if (target) return pickByIndex(rows, target.index).dir;
  const t = msg.restore.cli.rollback;
  if (rows.length === 0) throw new UsageError(t.noBackups, t.noBackupsHint);
  return choose(
    t.pickQuestion,
    rows.slice(0, 30).map((r) => ({
      value: r.dir,
      label: t.pickLabel({ index: r.index, id: r.id, tiers: r.tiers.join("+") }),
      hint: t.pickHint({ size: formatBytes(r.bytes), release: r.release, components: r.components.join(",") }),
    })),
  );
}

export async function rollbackMain({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const cmd = rollbackCommand(args);
  if (cmd.mode === "list") return listCommand(out, root);
  const project = await openProject({ root });
  const dir = await chooseBackup(root, cmd.target);
  const m = readManifest(dir);
  // --undo restores exactly what its snapshot holds.
  const components = cmd.target && "undo" in cmd.target ? COMPONENTS.filter((c) => m.components[c]) : cmd.components;
  const missing = components.filter((c) => !m.components[c]);
  if (missing.length) {
    const flag = Object.entries(SKIPS).find(([, c]) => c === missing[0])?.[0];
    throw new InvalidBackupError(
      msg.restore.cli.rollback.missingComponent({ id: m.id, components: missing.join(", ") }),
      msg.restore.cli.rollback.missingComponentHint({ flag: String(flag) }),
    );
  }
  const who = { script: SCRIPT, purpose: `rollback to ${m.id}`, finish: finishCommand(root, dir, components, cmd) };
  return withRunLock(root, who, out, async (lock) => {
    const report = await restoreFlow(project, out, {
      lock,
      event: "rollback",
      dir,
      components,
      snapshotTier: "pre-rollback",
      identity: cmd.identity,
      dryRun: cmd.dryRun,
      yes: cmd.yes,
      verifyStack: true,
      allowPlaintext: cmd.allowPlaintext,
    });
    printResult(out, report.result);
    return 0;
  });
}
