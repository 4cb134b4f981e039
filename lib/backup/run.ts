/**
 * One backup, as named phases: prepare (leftovers, services, encryption, disk) → write each
 * component, verify it from disk and encrypt it → manifest → rename into place → promote
 * (hard links) → prune. A backup is written under a temporary name and renamed into place
 * only once every artifact is verified, so a killed run never leaves anything that looks
 * like a backup. The caller holds the lock.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { settleAll, sleep } from "../core/async.ts";
import { ClawError, PreconditionError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { formatBackupId } from "../core/vocabulary/backup-id.ts";
import { SNAPSHOT_TIERS, type SnapshotTier, TIERS, type Tier } from "../core/vocabulary/tiers.ts";
import type { Project } from "../project/project.ts";
import { releaseOf, requireRunning } from "../project/release.ts";
import type { BackupResult, ComponentContext } from "./components/component.ts";
import { type EncryptionConfig, encryptArtifacts, encryptionConfig } from "./encryption.ts";
import {
  type ComponentName,
  type ComponentRecord,
  MANIFEST,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  readManifest,
  verifyComponentArtifacts,
} from "./manifest.ts";
import { REGISTRY, rolesNeeded } from "./registry.ts";
import { planPrune, promotionsFor } from "./retention.ts";
import {
  applyPrune,
  backupsRoot,
  cleanLeftovers,
  commitStaging,
  listBackups,
  newStagingDir,
  promote,
  pruneSnapshots,
  refsOf,
  type StoredBackup,
  type StoreTier,
} from "./store.ts";

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

interface Prepared {
  id: string;
  staging: string;
  encryption: EncryptionConfig | undefined;
  existing: StoredBackup[];
}

export async function runBackup(project: Project, out: Output, o: BackupOptions): Promise<BackupOutcome> {
  const pending = await beginBackup(project, out, o);
  try {
    await pending.write();
    return pending.commit([]);
  } catch (e) {
    pending.discard();
    throw e;
  }
}

/**
 * A backup committed in two steps: write() writes and verifies the components (nothing is
 * a backup yet), commit() adds records made elsewhere (an in-place snapshot's kept data,
 * recorded by the restore once its services are stopped) and renames it into place.
 */
export interface PendingBackup {
  id: string;
  write(): Promise<void>;
  commit(extra: readonly ComponentRecord[]): BackupOutcome;
  /** Whether write() wrote any component (a manifest needs at least one). */
  hasRecords(): boolean;
  /** Remove what was written (nothing once committed). */
  discard(): void;
}

export async function beginBackup(project: Project, out: Output, o: BackupOptions): Promise<PendingBackup> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const p = await prepare(project, out, o, started, now);
  let records: ComponentRecord[] = [];
  let committed = false;
  return {
    id: p.id,
    write: async () => {
      records = await writeComponents(project, out, p, o.components, now);
    },
    hasRecords: () => records.length > 0,
    commit: (extra) => {
      const manifest = writeManifest(project, p, [...records, ...extra], started, now());
      const dir = commitStaging(project.root, p.staging, o.tier, p.id);
      committed = true;
      const { promoted, pruned } =
        o.tier === "daily" ? promoteAndPrune(project, out, p, dir, started, o.prune !== false, now()) : { promoted: [], pruned: [] };
      return { id: p.id, dir, tier: o.tier, manifest, promoted, pruned, durationMs: now().getTime() - started.getTime() };
    },
    discard: () => {
      if (!committed) rmSync(p.staging, { recursive: true, force: true });
    },
  };
}

/** Phase 1: nothing is written before the services, the encryption set-up and the disk are known good. */
async function prepare(project: Project, out: Output, o: BackupOptions, started: Date, now: () => Date): Promise<Prepared> {
  const left = cleanLeftovers(project.root);
  if (left.length) out.warn(msg.backup.run.removedPartial({ n: left.length, list: left.join(", ") }));
  await requireRunning(project, rolesNeeded(o.components));
  const encryption = await encryptionConfig(project.config.encryption);
  const existing = listBackups(project.root);
  checkFreeSpace(
    project.root,
    existing.find((b) => b.tier === "daily"),
  );
  let id = formatBackupId(started);
  if (existing.some((b) => b.id === id)) {
    await sleep(1100); // ids have one-second resolution
    id = formatBackupId(now());
  }
  return { id, staging: newStagingDir(project.root, id), encryption, existing };
}

/**
 * Phase 2: each component written, then verified from its files on disk exactly as a restore
 * would read them (sha256 re-read, then its own tool), then encrypted if configured: the
 * quick components are checked while the slow ones are still being written.
 */
function writeComponents(
  project: Project,
  out: Output,
  p: Prepared,
  components: readonly ComponentName[],
  now: () => Date,
): Promise<ComponentRecord[]> {
  const ctx: ComponentContext = { project, dir: p.staging, out };
  return settleAll(
    components.map(async (name) => {
      const rec = await out.step(
        localized((t) => t.backup.run.stepBackup({ component: name })),
        () => backupComponent(ctx, name, now),
      );
      await out.step(
        localized((t) => t.backup.run.stepVerify({ component: name })),
        async () => {
          try {
            await verifyComponentArtifacts(p.staging, p.id, rec);
            await REGISTRY[name].verify(ctx, rec);
          } catch (e) {
            throw asComponentError(project, name, "writing", e);
          }
        },
      );
      // Only what passed verification is encrypted; the plaintext is gone before the rename.
      const enc = p.encryption;
      if (!enc) return rec;
      return out.step(
        localized((t) => t.backup.run.stepEncrypt({ component: name })),
        () =>
          encryptArtifacts(project.root, p.staging, rec, enc).catch((e: unknown) => {
            throw asComponentError(project, name, "encrypting", e);
          }),
      );
    }),
  );
}

async function backupComponent(ctx: ComponentContext, name: ComponentName, now: () => Date): Promise<ComponentRecord> {
  const t0 = now();
  const res = await REGISTRY[name].backup(ctx).catch((e: unknown) => {
    throw asComponentError(ctx.project, name, "writing", e);
  });
  return componentRecord(name, res, t0, now());
}

/**
 * An in-place snapshot's components marked `moved` once their data was moved aside: the
 * committed manifest rewritten durably, by rename.
 */
export function markMoved(dir: string, components: readonly ComponentName[]): void {
  const next = readManifest(dir);
  for (const c of components) {
    const k = next.components[c]?.kept;
    if (k) k.moved = true;
  }
  const tmp = join(dir, `${MANIFEST}.tmp`);
  writeDurable(tmp, `${JSON.stringify(next, null, 2)}\n`);
  renameSync(tmp, join(dir, MANIFEST));
}

export function componentRecord(name: ComponentName, res: BackupResult, t0: Date, t1: Date): ComponentRecord {
  return { name, status: "ok", startedAt: t0.toISOString(), finishedAt: t1.toISOString(), durationMs: t1.getTime() - t0.getTime(), ...res };
}

/**
 * Every component error names its component, and is a failed run (exit 1: services may have
 * been paused, files written); a full disk says so.
 */
function asComponentError(project: Project, name: ComponentName, doing: "writing" | "encrypting", e: unknown): ClawError {
  if (diskFull(e)) {
    return new ClawError(msg.backup.run.diskFull[doing]({ component: name }), {
      hint: msg.backup.run.diskFullHint({ dir: backupsRoot(project.root) }),
      cause: e,
      component: name,
    });
  }
  const err = e as ClawError;
  // Component messages already start with their name (`redis: …`, `redis：…` in Chinese).
  const message = /^[a-z]+[:：]/.test(err.message) && err.message.startsWith(name) ? err.message : `${name}: ${err.message}`;
  return new ClawError(message, { cause: e, hint: err.hint, component: name });
}

/** Phase 3: the manifest, durable before the rename. */
function writeManifest(project: Project, p: Prepared, records: readonly ComponentRecord[], started: Date, finished: Date): Manifest {
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id: p.id,
    createdAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    host: hostname(),
    release: releaseOf(project),
    composeProject: project.projectName ?? null,
    ...(p.encryption ? { encryption: { scheme: "age" as const, recipients: p.encryption.recipients } } : {}),
    components: Object.fromEntries(records.map((r) => [r.name, r])),
  };
  writeDurable(join(p.staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Phase 4: weekly/monthly hard links, then retention. */
function promoteAndPrune(
  project: Project,
  out: Output,
  p: Prepared,
  dir: string,
  started: Date,
  doPrune: boolean,
  now: Date,
): { promoted: Tier[]; pruned: string[] } {
  // `existing` was read before this backup was committed: exactly the set to promote against.
  const promoted = promotionsFor({ tier: "daily", id: p.id, time: started }, refsOf(p.existing));
  promote(project.root, dir, p.id, promoted);
  return { promoted, pruned: doPrune ? prune(project, now, (m) => out.warn(m)) : [] };
}

/**
 * Retention: the regular tiers by BACKUP_RETENTION_*_DAYS, then the snapshot tiers by the
 * snapshot policy (BACKUP_SNAPSHOT_*; never the undo record's snapshot). Both policies are
 * read before anything is removed. Returns every `tier/id` removed.
 */
export function prune(project: Project, now: Date, warn: (m: string) => void = () => undefined): string[] {
  const policy = project.config.retention();
  const snapshotPolicy = project.config.snapshotRetention();
  const refs = refsOf(listBackups(project.root, { tiers: TIERS }));
  const removed: string[] = [];
  if (refs.length) {
    const plan = planPrune(refs, policy, now);
    for (const b of plan.future ?? []) warn(msg.backup.run.future({ key: `${b.tier}/${b.id}`, time: b.time.toISOString() }));
    removed.push(...applyPrune(project.root, plan));
  }
  return [...removed, ...pruneSnapshots(project.root, snapshotPolicy, now, SNAPSHOT_TIERS, warn)];
}

function diskFull(e: unknown): boolean {
  const text = `${(e as Error)?.message ?? ""} ${(e as { stderrTail?: string })?.stderrTail ?? ""} ${(e as NodeJS.ErrnoException)?.code ?? ""}`;
  return /ENOSPC|No space left on device/i.test(text);
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
  // The backups directory may be a mount of its own.
  const s = statfsSync(backupsRoot(root));
  const free = s.bavail * s.bsize;
  if (free < last.bytes * 1.1) {
    throw new PreconditionError(
      msg.backup.run.notEnoughSpace({ free: Math.round(free / 1e6), last: Math.round(last.bytes / 1e6) }),
      msg.backup.run.notEnoughSpaceHint,
    );
  }
}
