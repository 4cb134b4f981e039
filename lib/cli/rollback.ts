/**
 * rollback.mts: choose a backup (index, --backup, or a prompt on a TTY), restore exactly the
 * selected components through the shared restore engine, after a pre-rollback snapshot that
 * makes the rollback itself undoable.
 */
import { identityFlag, listCommand, report } from "./backup.ts";
import { decryptionKey } from "../backup/encryption.ts";
import { applyRestore, describePlan, planRestore } from "../backup/engine.ts";
import { COMPONENTS, readManifest, type ComponentName } from "../backup/manifest.ts";
import { backupEntries, formatBytes, listBackups, resolveBackupDir } from "../backup/store.ts";
import type { ScriptContext } from "./run.ts";
import { InvalidBackupError, UsageError } from "../core/errors.ts";
import { withRunLock } from "./run-lock.ts";
import type { Output } from "../core/output.ts";
import { openProject, projectRoot, type Project } from "../project/project.ts";
import { choose, confirmOrRefuse } from "../core/prompts.ts";

const SCRIPT = "rollback.mts";
const SKIPS: Record<string, ComponentName> = {
  "skip-db": "postgres", "skip-redis": "redis", "skip-milvus": "milvus", "skip-uploads": "uploads", "skip-config": "config",
};

/** Pure: the components a rollback restores, from the --skip-* flags. */
export function rollbackComponents(flags: Record<string, unknown>): ComponentName[] {
  const skipped = new Set(Object.entries(SKIPS).filter(([f]) => flags[f] === true).map(([, c]) => c));
  return COMPONENTS.filter((c) => !skipped.has(c));
}

/** Pure: which backup an index names ("1" = newest). */
export function pickByIndex<T>(rows: readonly T[], given: string): T {
  if (!/^\d+$/.test(given)) throw new UsageError(`backup index must be a number, got ${JSON.stringify(given)}`, "see the indexes with --list");
  const i = Number(given);
  if (rows.length === 0) throw new UsageError("there are no backups yet", "take one with backup.mts");
  if (i < 1 || i > rows.length) throw new UsageError(`no backup with index ${i} (there are ${rows.length})`, "see the indexes with --list");
  return rows[i - 1]!;
}

async function chooseBackup(ctx: ScriptContext, root: string): Promise<string> {
  const { args } = ctx;
  if (args.flags.backup !== undefined && args.positionals.length) throw new UsageError("give either an index or --backup <dir>, not both");
  if (args.flags.backup !== undefined) return resolveBackupDir(root, String(args.flags.backup));
  const rows = backupEntries(listBackups(root));
  if (args.positionals[0] !== undefined) return pickByIndex(rows, args.positionals[0]).dir;
  if (rows.length === 0) throw new UsageError("there are no backups yet", "take one with backup.mts");
  return choose("Roll back to which backup?", rows.slice(0, 30).map((r) => ({
    value: r.dir, label: `${r.index}. ${r.id} (${r.tiers.join("+")})`, hint: `${formatBytes(r.bytes)}, ${r.release}, ${r.components.join(",")}`,
  })));
}

/** After a rollback every service must be up and healthy and /health must answer through nginx. */
async function verifyStack(project: Project, out: Output): Promise<void> {
  await out.step("every service up and healthy", () => project.compose.up({ wait: true }, 360_000));
  const nginx = project.stack.services.find((s) => s.role === "nginx");
  if (nginx) {
    await out.step("GET /health through nginx", () =>
      project.compose.exec(nginx.name, ["curl", "-fsSk", "--retry", "10", "--retry-delay", "2", "--retry-all-errors", "https://localhost/health"], {}, { timeoutMs: 120_000 }));
  }
}

export async function rollbackCommand(ctx: ScriptContext, root = projectRoot()): Promise<number> {
  const { args, out } = ctx;
  if (args.flags.list) return listCommand(ctx, root);
  const wanted = rollbackComponents(args.flags);
  const project = await openProject({ root });
  const dir = await chooseBackup(ctx, root);
  const m = readManifest(dir);
  const missing = wanted.filter((c) => !m.components[c]);
  if (missing.length) {
    const flag = Object.entries(SKIPS).find(([, c]) => c === missing[0])?.[0];
    throw new InvalidBackupError(`backup ${m.id} has no ${missing.join(", ")} component`, `roll back the rest with --${flag}`);
  }
  return withRunLock(root, { script: SCRIPT, purpose: `rollback to ${m.id}` }, out, async () => {
    const key = decryptionKey(project.env, identityFlag(args.flags));
    const plan = await out.step("checking the backup (manifest and checksums)", () => planRestore(project, dir, wanted, "pre-rollback", key));
    for (const line of describePlan(plan)) out.info(line);
    if (args.flags["dry-run"]) {
      out.result({ ok: true, dryRun: true, backup: m.id, restore: plan.components, skip: plan.skipped, stop: plan.stop });
      return 0;
    }
    await confirmOrRefuse(`Roll back ${plan.components.join(", ")} to ${m.id}?`, { yes: Boolean(args.flags.yes), what: "roll back" });
    const outcome = await applyRestore(project, out, plan);
    if (!outcome.error) {
      try {
        await verifyStack(project, out);
      } catch (e) {
        outcome.error = e as Error;
      }
    }
    return report(project, out, "rollback", m.id, outcome);
  });
}
