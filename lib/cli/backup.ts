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
import type { Output } from "../core/output.ts";
import { snapshotSettings } from "../project/config.ts";
import { loadEnv } from "../project/env.ts";
import { ENV_FILE, openProject, projectRoot, repoRoot } from "../project/project.ts";
import { restoreFlow } from "../restore/flow.ts";
import { inputFlags, interruptedRestore, withRunLock } from "../restore/run-lock.ts";
import type { ParsedArgs } from "./flags.ts";
import type { ScriptContext } from "./run.ts";

const SCRIPT = "backup.mts";

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
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be combined`);
  const mode = modes[0];
  const positional = args.positionals[0];
  if (positional !== undefined && mode !== "verify" && mode !== "install-cron")
    throw new UsageError(`unexpected argument ${JSON.stringify(positional)}`);
  const identity = f.identity === undefined ? undefined : String(f.identity);
  const selection = SELECTION_FLAGS.filter((s) => f[s] !== undefined && f[s] !== false);
  if (mode && selection.length) throw new UsageError(`--${selection[0]} applies to a backup run, not to --${mode}`);
  if (f.only !== undefined && f["db-only"]) throw new UsageError("--only and --db-only cannot be combined", "--db-only is --only postgres");
  // A mode without a dry run must not run for real when one was asked for.
  if (f["dry-run"] && (mode === "prune" || mode === "install-cron" || mode === "verify")) {
    throw new UsageError(`--${mode} has no --dry-run`, mode === "prune" ? "see what the policy keeps with --list" : undefined);
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
      if (components.length === 0) throw new UsageError("nothing to back up: the flags leave out every component");
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
    out.result([...rows.map(json), ...snapshots.map((r) => ({ ...json(r), ...(marks ? { willPrune: marks.has(entryKey(r)) } : {}) }))]);
    for (const d of damaged) out.warn(`damaged: ${relative(root, d.dir)}: ${d.why}`);
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
    const env = loadEnv(join(root, ENV_FILE), { validate: false });
    return snapshotPruneMarks(
      root,
      snapshotSettings((k) => env.get(k)),
      now,
      all,
    );
  } catch (e) {
    out.warn(`snapshots not marked for pruning: ${(e as Error).message}`);
    return undefined;
  }
}

async function installCron(out: Output, root: string, given: string | undefined): Promise<number> {
  // Loaded only here: cron-parser and its date library add ~10 MB to every other run.
  const s = await import("../backup/schedule.ts");
  const expr = given ?? s.DEFAULT_BACKUP_CRON;
  s.validateCron(expr);
  const path = s.pinnedPath([dirname(process.execPath), s.dirOnPath("npx"), s.dirOnPath("docker")]);
  const repo = repoRoot();
  const line = s.backupCronLine(expr, root, path, repo);
  // Proved before it is installed: the very command, under cron's environment, as a dry run.
  await out.step("running the line under cron's environment (--dry-run)", () =>
    s.proveCronCommand(s.unescapeCrontab(s.backupCronCommand(root, path, ["--dry-run"], repo))),
  );
  const { text, changed } = s.mergeCrontab(await s.readCrontab(), line, root, repo);
  if (changed) await s.writeCrontab(text);
  out.success(changed ? `installed: ${line}` : `already installed: ${line}`);
  out.info(
    `next runs: ${s
      .nextRuns(expr, new Date())
      .map((d) => d.toString())
      .join("; ")}`,
  );
  out.info(`PATH pinned on the line: ${path}`);
  out.result({ ok: true, line, changed });
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
  out.success(removed.length ? `removed ${removed.join(", ")}` : "nothing to prune");
  out.result({ ok: true, removed });
  return 0;
}

async function verifyBackup(out: Output, root: string, given: string | undefined, identity: string | undefined): Promise<number> {
  const project = await openProject({ root });
  return withRunLock(root, { script: SCRIPT, purpose: "verify" }, out, async (lock) => {
    // After a restore that died, what it left half-swapped is put back together before its snapshot is checked.
    if (interruptedRestore(lock.recoveredFrom)) await recoverDeadSwaps(project, out);
    const dir = given ? resolveBackupDir(root, given) : listBackups(root)[0]?.dir;
    if (!dir) throw new UsageError("there is no backup to verify yet");
    const r = await drillBackup(project, out, dir, decryptionKey(project.config.encryption, identity));
    for (const [c, line] of Object.entries(r.proven)) out.info(`${c.padEnd(8)} ${line}`);
    out.success(`backup ${r.id} verified: every component restored in a drill and matched its manifest`);
    out.result({ ok: true, id: r.id, components: r.components, drill: r.proven });
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
    finish: `npx zx scripts/backup.mts --restore ${relative(root, dir)}${inputFlags(cmd)} -y`,
  };
  return withRunLock(root, who, out, (lock) =>
    restoreFlow(project, out, {
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
    }),
  );
}

async function takeBackup(out: Output, root: string, components: ComponentName[], dryRun: boolean): Promise<number> {
  const project = await openProject({ root });
  // Refused before any work: a backup uses both (a restore or a rollback does not).
  project.config.retention();
  project.config.snapshotRetention();
  project.config.offsite();
  if (dryRun) {
    out.info(`would back up: ${components.join(", ")} into backups/daily/<now>/ (then promote, prune)`);
    out.info(`needs running: ${rolesNeeded(components).join(", ") || "nothing"}`);
    if (components.includes("milvus")) out.info("milvus-standalone and minio are stopped briefly for a consistent copy");
    const enc = await encryptionConfig(project.config.encryption);
    out.info(
      enc
        ? `encrypted with age to ${enc.recipients.length} recipient(s)${enc.key ? " (the key in .env.prod can decrypt)" : " (decrypting needs the key: --identity <file>)"}`
        : "not encrypted (BACKUP_AGE_RECIPIENTS / BACKUP_ENCRYPTION_KEY unset)",
    );
    return 0;
  }
  const r = await withRunLock(root, { script: SCRIPT, purpose: "backup" }, out, (lock) => backupJob(project, out, lock, components));
  out.success(
    `backup ${r.id}: ${Object.keys(r.manifest.components).join(", ")}, ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s → ${relative(root, r.dir)}`,
  );
  if (r.promoted.length) out.info(`promoted to ${r.promoted.join(", ")} (hard links)`);
  if (r.pruned.length) out.info(`pruned ${r.pruned.join(", ")}`);
  if (r.offsite) out.info(`offsite: ${r.offsite}`);
  if (out.verbose) out.debug(`where the time went: ${out.phases.map((p) => `${p.step} ${(p.ms / 1000).toFixed(1)} s`).join("; ")}`);
  // Peak memory of this process, for the benchmark: data is streamed, so it stays flat.
  const peakRssKB = process.resourceUsage().maxRSS;
  out.debug(`peak RSS ${Math.round(peakRssKB / 1024)} MiB`);
  out.result({
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
