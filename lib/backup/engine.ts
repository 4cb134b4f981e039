/**
 * The backup and restore engine shared by backup.mts and rollback.mts.
 *
 * Backup:  preflight → staging dir → components (concurrently, streamed) → verify every
 *          artifact → manifest → rename into place → promote (hard links) → prune → metrics.
 * Restore: plan (manifest, checksums, components present: nothing touched yet) → snapshot of
 *          what will be overwritten → stop dependents → restore each component → start
 *          dependents (in a finally) → health.
 */
import { statfsSync, writeFileSync, openSync, fsyncSync, closeSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ClawError, PreconditionError, UsageError } from "../core/errors.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { findByRole, interpolate, serviceByRole, type Role } from "../project/stack.ts";
import type { Component, ComponentContext } from "./components/component.ts";
import { config } from "./components/config.ts";
import { COMPONENTS, MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION, readManifest, verifyArtifacts, verifyComponentArtifacts, type ComponentName, type ComponentRecord, type Manifest } from "./manifest.ts";
import { milvus } from "./components/milvus.ts";
import { postgres } from "./components/postgres.ts";
import { redis } from "./components/redis.ts";
import { formatBackupId, planPrune, policyFromEnv, promotionsFor, type Tier } from "./retention.ts";
import { applyPrune, backupsRoot, cleanLeftovers, commitStaging, listBackups, newStagingDir, promote, refsOf, type SnapshotTier, type StoredBackup, type StoreTier } from "./store.ts";
import { uploads } from "./components/uploads.ts";
import { settleAll } from "../core/async.ts";
import { checkKeyFits, encryptArtifacts, encryptionConfig, openBackup, type OpenedBackup } from "./encryption.ts";
import type { Secret } from "../core/secret.ts";

export const REGISTRY: Record<ComponentName, Component> = { postgres, redis, milvus, uploads, config };

/** Services each component needs running to be backed up. */
export const NEEDS: Record<ComponentName, Role[]> = {
  postgres: ["postgres"],
  redis: ["redis"],
  milvus: ["etcd", "minio", "milvus"],
  uploads: [],
  config: [],
};

/** Services that use the data and are stopped while it is replaced. */
export const DEPENDENT_ROLES: Role[] = ["backend", "celery-worker", "celery-beat", "flower"];

/** Pure: which components a backup run takes, from the guide's flags. */
export function selectComponents(o: { dbOnly?: boolean; noUpload?: boolean; only?: string }): ComponentName[] {
  if (o.only !== undefined) {
    const names = o.only.split(",").map((s) => s.trim()).filter(Boolean);
    const bad = names.filter((n) => !COMPONENTS.includes(n as ComponentName));
    if (bad.length || names.length === 0) {
      throw new UsageError(`--only takes ${COMPONENTS.join(",")}; got ${JSON.stringify(o.only)}`);
    }
    return COMPONENTS.filter((c) => names.includes(c));
  }
  if (o.dbOnly) return ["postgres"];
  return COMPONENTS.filter((c) => !(o.noUpload && c === "uploads"));
}

export function releaseOf(project: Project): { image: string; tag: string } {
  const backend = serviceByRole(project.stack, "backend");
  const ref = interpolate(backend.image ?? "", (k) => project.env.get(k) ?? process.env[k]);
  const i = ref.lastIndexOf(":");
  return i > 0 && !ref.slice(i).includes("/") ? { image: ref.slice(0, i), tag: ref.slice(i + 1) } : { image: ref, tag: "latest" };
}

async function requireRunning(project: Project, roles: Role[]): Promise<void> {
  if (roles.length === 0) return;
  const states = await project.compose.ps({ all: true });
  for (const role of roles) {
    const svc = serviceByRole(project.stack, role).name;
    const st = states.find((s) => s.service === svc);
    if (!st || st.state !== "running") {
      throw new PreconditionError(`service ${svc} is not running`, `start it: docker compose -f docker-compose.prod.yml up -d ${svc}`);
    }
  }
}

function diskFull(e: unknown): boolean {
  const text = `${(e as Error)?.message ?? ""} ${(e as { stderrTail?: string })?.stderrTail ?? ""} ${(e as NodeJS.ErrnoException)?.code ?? ""}`;
  return /ENOSPC|No space left on device/i.test(text);
}

export interface BackupOutcome {
  id: string;
  dir: string;
  tier: StoreTier;
  manifest: Manifest;
  promoted: Tier[];
  pruned: string[];
  durationMs: number;
}

export interface BackupOptions {
  components: ComponentName[];
  /** daily for a normal run; a snapshot tier for the copy taken before a restore. */
  tier: "daily" | SnapshotTier;
  prune?: boolean;
  now?: () => Date;
}

/** Take one backup. The caller holds the lock. */
export async function runBackup(project: Project, out: Output, o: BackupOptions): Promise<BackupOutcome> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const left = cleanLeftovers(project.root);
  if (left.length) out.warn(`removed ${left.length} partial backup(s) left by a run that died: ${left.join(", ")}`);
  await requireRunning(project, [...new Set(o.components.flatMap((c) => NEEDS[c]))]);
  const encryption = await encryptionConfig(project.env); // refused before any work if misconfigured
  const existing = listBackups(project.root);
  checkFreeSpace(project.root, existing.find((b) => b.tier === "daily"));

  let id = formatBackupId(started);
  if (existing.some((b) => b.id === id)) {
    await new Promise((r) => setTimeout(r, 1100)); // ids have one-second resolution
    id = formatBackupId(now());
  }
  const staging = newStagingDir(project.root, id);
  const ctx: ComponentContext = { project, dir: staging, out };
  const backupOne = (name: ComponentName) => out.step(`backup ${name}`, async (): Promise<ComponentRecord> => {
    const t0 = now();
    let res;
    try {
      res = await REGISTRY[name].backup(ctx);
    } catch (e) {
      if (diskFull(e)) throw new ClawError(`${name}: disk full while writing the backup`, { hint: `free space under ${backupsRoot(project.root)} (older backups: --prune)`, cause: e });
      throw new ClawError(`${name}: ${(e as Error).message}`, { cause: e, ...((e as ClawError).hint ? { hint: (e as ClawError).hint! } : {}) });
    }
    const t1 = now();
    return { name, status: "ok", startedAt: t0.toISOString(), finishedAt: t1.toISOString(), durationMs: t1.getTime() - t0.getTime(), ...res };
  });
  try {
    // Each component is written, then verified from its files on disk exactly as a restore
    // would read them (sha256 re-read, then its own tool), then encrypted if configured: the
    // quick components are checked while the slow ones are still being written.
    const records = await settleAll(o.components.map(async (name) => {
      const rec = await backupOne(name);
      await out.step(`verify ${name}`, async () => {
        await verifyComponentArtifacts(staging, id, rec);
        await REGISTRY[name].verify(ctx, rec);
      });
      // Only what passed verification is encrypted; the plaintext is gone before the rename.
      if (!encryption) return rec;
      return out.step(`encrypt ${name} (age)`, () => encryptArtifacts(project.root, staging, rec, encryption).catch((e: unknown) => {
        if (diskFull(e)) throw new ClawError(`${name}: disk full while encrypting the backup`, { hint: `free space under ${backupsRoot(project.root)} (older backups: --prune)`, cause: e });
        throw e;
      }));
    }));
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      id,
      createdAt: started.toISOString(),
      finishedAt: now().toISOString(),
      host: hostname(),
      release: releaseOf(project),
      composeProject: project.projectName ?? null,
      ...(encryption ? { encryption: { scheme: "age" as const, recipients: encryption.recipients } } : {}),
      components: Object.fromEntries(records.map((r) => [r.name, r])),
    };
    writeDurable(join(staging, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    const dir = commitStaging(project.root, staging, o.tier, id);
    let promoted: Tier[] = [];
    let pruned: string[] = [];
    if (o.tier === "daily") {
      // `existing` was read before this backup was committed: exactly the set to promote against.
      promoted = promotionsFor({ tier: "daily", id, time: started }, refsOf(existing));
      promote(project.root, dir, id, promoted);
      if (o.prune !== false) pruned = prune(project, now());
    }
    return { id, dir, tier: o.tier, manifest, promoted, pruned, durationMs: now().getTime() - started.getTime() };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** openBackup, shown as a step when there is something to decrypt. */
export function openShown(root: string, out: Output, dir: string, m: Manifest, components: readonly ComponentName[], key: Secret | undefined): Promise<OpenedBackup> {
  const open = () => openBackup(root, dir, m, components, key);
  return m.encryption ? out.step("decrypt the backup (age)", open) : open();
}

/** An encrypted snapshot needs the key to be undone: say so when .env.prod does not hold it. */
export function undoKeyHint(project: Project, m: Manifest): string {
  return m.encryption && !project.env.get("BACKUP_ENCRYPTION_KEY") ? " --identity <your age key file>" : "";
}

export function prune(project: Project, now: Date): string[] {
  const policy = policyFromEnv((k) => project.env.get(k));
  const refs = refsOf(listBackups(project.root, { tiers: ["daily", "weekly", "monthly"] }));
  if (refs.length === 0) return [];
  return applyPrune(project.root, planPrune(refs, policy, now));
}

function writeDurable(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Refuse early when the last backup would not fit in what is free (with 10 % headroom). */
function checkFreeSpace(root: string, last: StoredBackup | undefined): void {
  if (!last) return;
  const s = statfsSync(root);
  const free = s.bavail * s.bsize;
  if (free < last.bytes * 1.1) {
    throw new PreconditionError(`not enough disk space: ${Math.round(free / 1e6)} MB free, the last backup took ${Math.round(last.bytes / 1e6)} MB`,
      "free space or prune old backups (backup.mts --prune)");
  }
}

// ---- restore -----------------------------------------------------------------------------------
export interface RestorePlan {
  dir: string;
  manifest: Manifest;
  components: ComponentName[];
  skipped: ComponentName[];
  /** Services that use the data: stopped during the restore, started again afterwards. */
  stop: string[];
  snapshotTier: SnapshotTier;
  releaseFrom: string;
  releaseTo: string;
  /** The key that decrypts an encrypted backup (checked while planning). */
  key?: Secret;
}

/** Validate everything before anything is touched; returns the plan the apply step walks. */
export async function planRestore(project: Project, dir: string, wanted: readonly ComponentName[], snapshotTier: SnapshotTier, key?: Secret): Promise<RestorePlan> {
  const manifest = readManifest(dir);
  const components = COMPONENTS.filter((c) => wanted.includes(c));
  await verifyArtifacts(dir, manifest, components);
  // A missing or wrong key is found now, with nothing touched (also by --dry-run).
  await checkKeyFits(project.root, dir, manifest, components, key);
  // All of them, running or not: a run that died may have left some stopped, and the
  // restore ends with every one of them started and healthy.
  // A configuration-only restore touches no data: nothing needs to stop.
  const touchesData = components.some((c) => c !== "config");
  const stop = touchesData ? DEPENDENT_ROLES.map((r) => findByRole(project.stack, r)?.name).filter((n): n is string => !!n) : [];
  const rel = releaseOf(project);
  return {
    dir, manifest, components, skipped: COMPONENTS.filter((c) => !components.includes(c)), stop, snapshotTier,
    releaseFrom: `${rel.image}:${rel.tag}`, releaseTo: `${manifest.release.image}:${manifest.release.tag}`,
    ...(key ? { key } : {}),
  };
}

export function describePlan(p: RestorePlan): string[] {
  return [
    `backup:      ${p.manifest.id} (${p.dir})${p.manifest.encryption ? ", encrypted (age): the key fits" : ""}`,
    `restore:     ${p.components.join(", ") || "nothing"}`,
    `leave as is: ${p.skipped.join(", ") || "nothing"}`,
    `config:      ${p.components.includes("config") ? "restored (.env.prod, compose, nginx, prometheus, grafana, loki)" : "not restored"}`,
    `release:     ${p.releaseFrom}${p.components.includes("config") && p.releaseTo !== p.releaseFrom ? ` -> ${p.releaseTo}` : " (unchanged)"}`,
    `stop/start:  ${p.stop.join(", ") || "none"}`,
    `snapshot:    backups/${p.snapshotTier}/<now> first, holding everything that will be overwritten`,
  ];
}

export interface RestoreOutcome {
  snapshot: string | undefined;
  results: Record<ComponentName, "restored" | "skipped" | "failed" | "not reached">;
  error?: Error;
}

export async function applyRestore(project: Project, out: Output, plan: RestorePlan): Promise<RestoreOutcome> {
  const results = Object.fromEntries(COMPONENTS.map((c) => [c, plan.components.includes(c) ? "not reached" : "skipped"])) as RestoreOutcome["results"];
  if (plan.components.length === 0) return { snapshot: undefined, results };
  const stale = await project.compose.removeOneOffs(project.effectiveName);
  if (stale) out.warn(`removed ${stale} one-off container(s) left by a run that was killed`);
  // Decrypted (and each plaintext checked) before the snapshot: nothing is touched until
  // every artifact is known good.
  const opened = await openShown(project.root, out, plan.dir, plan.manifest, plan.components, plan.key);
  try {
    return await restoreOpened(project, out, plan, opened.dir, opened.manifest, results);
  } finally {
    opened.close();
  }
}

async function restoreOpened(project: Project, out: Output, plan: RestorePlan, dir: string, manifest: Manifest, results: RestoreOutcome["results"]): Promise<RestoreOutcome> {
  const snap = await out.step(`snapshot of the current state (${plan.snapshotTier})`, () =>
    runBackup(project, out, { components: plan.components, tier: plan.snapshotTier, prune: false }));
  out.info(`undo with: npx zx scripts/rollback.mts --backup ${join("backups", plan.snapshotTier, snap.id)} -y${undoKeyHint(project, snap.manifest)}`);
  const ctx: ComponentContext = { project, dir, out };
  let error: Error | undefined;
  if (plan.stop.length) await project.compose.stop(plan.stop);
  try {
    for (const c of plan.components) {
      try {
        await out.step(`restore ${c}`, () => REGISTRY[c].restore(ctx, manifest.components[c]!));
        results[c] = "restored";
      } catch (e) {
        results[c] = "failed";
        throw e;
      }
    }
  } catch (e) {
    error = e as Error;
  } finally {
    if (plan.stop.length) {
      await out.step(`start ${plan.stop.join(", ")}`, () => project.compose.up({ services: plan.stop, wait: true, noDeps: true })).catch((e: Error) => {
        error ??= e;
      });
    }
  }
  return { snapshot: snap.dir, results, ...(error ? { error } : {}) };
}
