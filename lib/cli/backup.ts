/**
 * backup.mts: typed options from the flags (one mode per run), then one handler per mode.
 * The handlers only open the project, take the lock and call lib/backup or lib/restore.
 */
import { dirname, join, relative } from "node:path";
import { drillBackup } from "../backup/drill.ts";
import { decryptionKey, encryptionConfig } from "../backup/encryption.ts";
import { backupJob } from "../backup/job.ts";
import { sweepKept } from "../backup/kept.ts";
import { type ComponentName, readManifest } from "../backup/manifest.ts";
import { recoverDeadSwaps } from "../backup/recover.ts";
import { rolesNeeded, selectComponents } from "../backup/registry.ts";
import { prune } from "../backup/run.ts";
import {
  type BackupEntry,
  backupEntries,
  entryKey,
  formatBytes,
  formatListing,
  listBackups,
  resolveBackupDir,
  type StoredBackup,
  snapshotEntries,
  snapshotPruneMarks,
} from "../backup/store.ts";
import { UsageError } from "../core/errors.ts";
import { localized, msg, padCells } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import { snapshotPolicyOf } from "../project/config.ts";
import { ENV_FILE, openProject, projectRoot, repoRoot } from "../project/project.ts";
import { restoreFlow } from "../restore/flow.ts";
import { interruptedRestore } from "../restore/interrupted.ts";
import type { ParsedArgs } from "./flags.ts";
import { printResult } from "./result.ts";
import type { ScriptContext } from "./run.ts";
import { inputFlags, withRunLock } from "./run-lock.ts";

const SCRIPT = SCRIPTS.backup;

export type BackupCommand =
  | { mode: "backup"; components: ComponentName[]; dryRun: boolean }
  | { mode: "restore"; dir: string; identity: string | undefined; dryRun: boolean; yes: boolean; allowPlaintext: boolean }
  | { mode: "list" }
  | { mode: "verify"; dir: string | undefined; identity: string | undefined }
  | { mode: "prune" }
  | { mode: "install-cron"; expr: string | undefined };

const MODES = ["list", "restore", "verify", "prune", "install-cron"] as const;
const SELECTION_FLAGS = ["db-only", "no-upload", "only"] as const;

/** Pure: the typed command of a backup.mts run; conflicting modes are a usage error. */
export function backupCommand(args: ParsedArgs): BackupCommand {
  const f = args.flags;
  const modes = MODES.filter((m) => f[m] !== undefined && f[m] !== false);
  if (modes.length > 1) throw new UsageError(msg.backup.cli.modesConflict({ a: modes[0]!, b: modes[1]! }));
  const mode = modes[0];
  const positional = args.positionals[0];
  if (positional !== undefined && mode !== "verify" && mode !== "install-cron")
    throw new UsageError(msg.backup.cli.unexpectedArgument({ arg: JSON.stringify(positional) }));
  const identity = f.identity === undefined ? undefined : String(f.identity);
  const selection = SELECTION_FLAGS.filter((s) => f[s] !== undefined && f[s] !== false);
  if (mode && selection.length) throw new UsageError(msg.backup.cli.selectionNotForMode({ flag: selection[0]!, mode }));
  if (f.only !== undefined && f["db-only"]) throw new UsageError(msg.backup.cli.onlyAndDbOnly, msg.backup.cli.onlyAndDbOnlyHint);
  // A mode without a dry run must not run for real when one was asked for.
  if (f["dry-run"] && (mode === "prune" || mode === "install-cron" || mode === "verify")) {
    throw new UsageError(msg.backup.cli.noDryRun({ mode }), mode === "prune" ? msg.backup.cli.pruneNoDryRunHint : undefined);
  }
  switch (mode) {
    case "list":
      return { mode };
    case "prune":
      return { mode };
    case "install-cron":
      return { mode, expr: positional };
    case "verify":
      return { mode, dir: positional, identity };
    case "restore":
      return {
        mode,
        dir: String(f.restore),
        identity,
        dryRun: f["dry-run"] === true,
        yes: f.yes === true,
        allowPlaintext: f["allow-plaintext"] === true,
      };
    default: {
      const components = selectComponents({
        dbOnly: f["db-only"] === true,
        noUpload: f["no-upload"] === true,
        ...(f.only !== undefined ? { only: String(f.only) } : {}),
      });
      if (components.length === 0) throw new UsageError(msg.backup.cli.nothingToBackUp);
      return { mode: "backup", components, dryRun: f["dry-run"] === true };
    }
  }
}

export async function backupMain({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const cmd = backupCommand(args);
  switch (cmd.mode) {
    case "list":
      return listCommand(out, root);
    case "install-cron":
      return installCron(out, root, cmd.expr);
    case "prune":
      return pruneBackups(out, root);
    case "verify":
      return verifyBackup(out, root, cmd.dir, cmd.identity);
    case "restore":
      return restoreBackup(out, root, cmd);
    case "backup":
      return takeBackup(out, root, cmd.components, cmd.dryRun);
  }
}

/**
 * `--list` (rollback.mts --list too): every backup, newest first, with its index; each snapshot
 * the snapshot policy would remove now is marked (JSON: `willPrune` on every snapshot row).
 */
export function listCommand(out: Output, root: string, now = new Date()): number {
  const damaged: Array<{ dir: string; why: string }> = [];
  const all = listBackups(root, { onInvalid: (dir, why) => damaged.push({ dir, why }) });
  const rows = backupEntries(all);
  const snapshots = snapshotEntries(all);
  const marks = snapshots.length ? listingMarks(out, root, now, all) : new Map<string, string>();
  // A damaged backup is listed as such; it never stops the others from being listed or used.
  if (out.json) {
    const json = (r: BackupEntry) => ({ ...r, dir: relative(root, r.dir), time: r.time.toISOString() });
    printResult(out, [...rows.map(json), ...snapshots.map((r) => ({ ...json(r), ...(marks ? { willPrune: marks.has(entryKey(r)) } : {}) }))]);
    for (const d of damaged) out.warn(msg.backup.cli.damaged({ dir: relative(root, d.dir), why: d.why }));
  } else {
    process.stdout.write(`${formatListing(rows, snapshots, damaged, root, marks)}\n`);
  }
  return 0;
}

/**
 * What the snapshot policy in .env.prod would remove now; undefined (nothing marked, a warning)
 * when that policy cannot be read: a listing never fails over it.
 */
function listingMarks(out: Output, root: string, now: Date, all: readonly StoredBackup[]): Map<string, string> | undefined {
  try {
    return snapshotPruneMarks(root, snapshotPolicyOf(join(root, ENV_FILE)), now, all);
  } catch (e) {
    out.warn(msg.backup.cli.notMarked({ reason: (e as Error).message }));
    return undefined;
  }
}

async function installCron(out: Output, root: string, given: string | undefined): Promise<number> {
  // Loaded only here: cron-parser and its date library add ~10 MB to every other run.
  const [s, cron] = await Promise.all([import("../backup/schedule.ts"), import("../infra/crontab.ts")]);
  const expr = given ?? s.DEFAULT_BACKUP_CRON;
  cron.validateCron(expr);
  const path = cron.pinnedPath([dirname(process.execPath), cron.dirOnPath("npx"), cron.dirOnPath("docker")]);
  const repo = repoRoot();
  const line = s.backupCronLine(expr, root, path, repo);
  // Proved before it is installed: the very command, under cron's environment, as a dry run.
  await out.step(
    localized((t) => t.backup.cli.cronProveStep),
    () => s.proveCronCommand(cron.unescapeCrontab(s.backupCronCommand(root, path, ["--dry-run"], repo))),
  );
  const { text, changed } = s.mergeCrontab(await cron.readCrontab(), line, root, repo);
  if (changed) await cron.writeCrontab(text);
  out.success(changed ? msg.backup.cli.installed({ line }) : msg.backup.cli.alreadyInstalled({ line }));
  out.info(
    msg.backup.cli.nextRuns({
      runs: cron
        .nextRuns(expr, new Date())
        .map((d) => d.toString())
        .join("; "),
    }),
  );
  out.info(msg.backup.cli.pathPinned({ path }));
  printResult(out, { ok: true, line, changed });
  return 0;
}

async function pruneBackups(out: Output, root: string): Promise<number> {
  const project = await openProject({ root });
  const removed = await withRunLock(root, { script: SCRIPT, purpose: "prune" }, out, async () => {
    const gone = prune(project, new Date(), (m) => out.warn(m));
    // Also what an earlier removal left: data kept in place whose snapshot is gone (a half
    // swap of a restore that died is put back together first, so no pair is split).
    await recoverDeadSwaps(project, out);
    await sweepKept(project, out);
    return gone;
  });
  out.success(removed.length ? msg.backup.cli.removed({ list: removed.join(", ") }) : msg.backup.cli.nothingToPrune);
  printResult(out, { ok: true, removed });
  return 0;
}

async function verifyBackup(out: Output, root: string, given: string | undefined, identity: string | undefined): Promise<number> {
  const project = await openProject({ root });
  return withRunLock(root, { script: SCRIPT, purpose: "verify" }, out, async (lock) => {
    // After a restore that died, what it left half-swapped is put back together before its snapshot is checked.
    if (interruptedRestore(lock.recoveredFrom)) await recoverDeadSwaps(project, out);
    const dir = given ? resolveBackupDir(root, given) : listBackups(root)[0]?.dir;
    if (!dir) throw new UsageError(msg.backup.cli.noBackupToVerify);
    const r = await drillBackup(project, out, dir, decryptionKey(project.config.encryption, identity));
    for (const [c, line] of Object.entries(r.proven)) out.info(`${padCells(c, 8)} ${line}`);
    out.success(msg.backup.cli.verified({ id: r.id }));
    printResult(out, { ok: true, id: r.id, components: r.components, drill: r.proven });
    return 0;
  });
}

async function restoreBackup(out: Output, root: string, cmd: Extract<BackupCommand, { mode: "restore" }>): Promise<number> {
  const project = await openProject({ root });
  const dir = resolveBackupDir(root, cmd.dir);
  const m = readManifest(dir);
  const who = {
    script: SCRIPT,
    purpose: `restore from ${m.id}`,
    finish: operatorCommand(SCRIPT, ["--restore", relative(root, dir), ...inputFlags(cmd), "-y"]),
  };
  return withRunLock(root, who, out, async (lock) => {
    const report = await restoreFlow(project, out, {
      lock,
      event: "restore",
      dir,
      components: Object.keys(m.components) as ComponentName[],
      snapshotTier: "pre-restore",
      identity: cmd.identity,
      dryRun: cmd.dryRun,
      yes: cmd.yes,
      verifyStack: false,
      allowPlaintext: cmd.allowPlaintext,
    });
    printResult(out, report.result);
    return 0;
  });
}

async function takeBackup(out: Output, root: string, components: ComponentName[], dryRun: boolean): Promise<number> {
  const project = await openProject({ root });
  // Refused before any work: a backup uses both (a restore or a rollback does not).
  project.config.retention();
  project.config.snapshotRetention();
  project.config.offsite();
  if (dryRun) {
    out.info(msg.backup.cli.wouldBackUp({ components: components.join(", ") }));
    out.info(msg.backup.cli.needsRunning({ roles: rolesNeeded(components).join(", ") || msg.backup.cli.nothing }));
    if (components.includes("milvus")) out.info(msg.backup.cli.milvusStopped);
    const enc = await encryptionConfig(project.config.encryption);
    out.info(enc ? msg.backup.cli.encrypted({ n: enc.recipients.length, canDecrypt: enc.key !== undefined }) : msg.backup.cli.notEncrypted);
    return 0;
  }
  const r = await withRunLock(root, { script: SCRIPT, purpose: "backup" }, out, (lock) => backupJob(project, out, lock, components));
  out.success(
    msg.backup.cli.done({
      id: r.id,
      components: Object.keys(r.manifest.components).join(", "),
      size: formatBytes(r.bytes),
      secs: (r.durationMs / 1000).toFixed(1),
      dir: relative(root, r.dir),
    }),
  );
  if (r.promoted.length) out.info(msg.backup.cli.promoted({ tiers: r.promoted.join(", ") }));
  if (r.pruned.length) out.info(msg.backup.cli.pruned({ list: r.pruned.join(", ") }));
  if (r.offsite) out.info(msg.backup.cli.offsite({ where: r.offsite }));
  if (out.verbose)
    out.debug(
      msg.backup.cli.timeWent({
        phases: out.phases.map((p) => msg.backup.cli.phaseTime({ step: p.step, secs: (p.ms / 1000).toFixed(1) })).join("; "),
      }),
    );
  // Peak memory of this process, for the benchmark: data is streamed, so it stays flat.
  const peakRssKB = process.resourceUsage().maxRSS;
  out.debug(msg.backup.cli.peakRss({ mib: Math.round(peakRssKB / 1024) }));
  printResult(out, {
    ok: true,
    id: r.id,
    dir: relative(root, r.dir),
    bytes: r.bytes,
    durationMs: r.durationMs,
    peakRssKB,
    promoted: r.promoted,
    pruned: r.pruned,
    ...(r.manifest.components.milvus ? { milvusPausedMs: r.manifest.components.milvus.counts["milvus:pausedMs"] } : {}),
    phases: out.phases,
    components: r.manifest.components,
  });
  return 0;
}
