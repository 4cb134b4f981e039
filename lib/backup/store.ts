/**
 * The backups/ tree: backups/{daily,weekly,monthly,pre-rollback,pre-restore,pre-deploy,pre-migrate}/<id>/.
 * A backup is written in backups/.tmp-<id>-<pid>/ and renamed into place only once every
 * artifact is verified, so a killed run never leaves anything that looks like a backup.
 * Weekly and monthly copies are hard links (zero extra bytes; a copy only across filesystems).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { ClawError, InvalidBackupError } from "../core/errors.ts";
import { displayWidth, msg, padCells } from "../core/i18n/index.ts";
import { BACKUP_ID_SOURCE, isBackupId } from "../core/vocabulary/backup-id.ts";
import { isSnapshotTier, isTier, SNAPSHOT_TIERS, type SnapshotTier, TIERS, type Tier, UNDO_TIERS } from "../core/vocabulary/tiers.ts";
import type { SnapshotPolicy } from "../project/config.ts";
import { type ComponentName, type Manifest, readManifest } from "./manifest.ts";
import { type BackupRef, type PrunePlan, planSnapshotPrune, type SnapshotPrunePlan, type SnapshotRef, snapshotKey } from "./retention.ts";

export const BACKUPS_DIR = "backups";
/** backups/undo.json: the snapshot the last rollback or restore took (written by lib/restore/undo.ts). */
export const UNDO_FILE = "undo.json";
export type StoreTier = Tier | SnapshotTier;
export const STORE_TIERS: readonly StoreTier[] = [...TIERS, ...SNAPSHOT_TIERS];
const TMP_PREFIX = ".tmp-";

export interface StoredBackup {
  tier: StoreTier;
  id: string;
  dir: string;
  manifest: Manifest;
  time: Date;
  bytes: number;
}

export const backupsRoot = (root: string) => join(root, BACKUPS_DIR);

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    const s = statSync(join(dir, f));
    if (s.isFile()) n += s.size;
  }
  return n;
}

/** Every valid backup, newest first. Directories without a valid manifest are reported, not listed. */
export function listBackups(root: string, o: { tiers?: readonly StoreTier[]; onInvalid?: (dir: string, why: string) => void } = {}): StoredBackup[] {
  const out: StoredBackup[] = [];
  for (const tier of o.tiers ?? STORE_TIERS) {
    const tdir = join(backupsRoot(root), tier);
    if (!existsSync(tdir)) continue;
    for (const id of readdirSync(tdir).sort()) {
      const dir = join(tdir, id);
      if (id.startsWith(".")) continue;
      try {
        // A dangling link or an unreadable entry is one damaged backup, not a failed listing.
        if (!statSync(dir).isDirectory()) continue;
        const manifest = readManifest(dir);
        if (manifest.id !== id) throw new InvalidBackupError(msg.backup.store.manifestOfOther({ other: manifest.id, id }));
        out.push({ tier, id, dir, manifest, time: new Date(manifest.createdAt), bytes: dirBytes(dir) });
      } catch (e) {
        o.onInvalid?.(dir, (e as Error).message);
      }
    }
  }
  return out.sort((a, b) => b.time.getTime() - a.time.getTime() || a.tier.localeCompare(b.tier));
}

/**
 * One row per backup id (its tiers merged), newest first: what --list shows. Only regular
 * backups (daily/weekly/monthly, manual runs included) are indexed: snapshots taken before a
 * rollback or restore are listed apart and never shift the indexes under the operator, so the
 * same `rollback.mts N` twice names the same backup.
 */
export interface BackupEntry {
  /** 1 = the newest regular backup; 0 for a snapshot (addressed by --backup <dir> or --undo). */
  index: number;
  id: string;
  tiers: StoreTier[];
  dir: string;
  time: Date;
  bytes: number;
  release: string;
  components: ComponentName[];
  /** The components kept in place (an in-place snapshot: renamed beside the live data, not copied). */
  kept: ComponentName[];
}

const isRegular = (b: StoredBackup) => isTier(b.tier);

/** The regular backups, indexed from 1, newest first. */
export function backupEntries(backups: readonly StoredBackup[]): BackupEntry[] {
  return entries(backups.filter(isRegular), true);
}

/** The snapshots (pre-rollback, pre-restore), newest first, not indexed. */
export function snapshotEntries(backups: readonly StoredBackup[]): BackupEntry[] {
  return entries(
    backups.filter((b) => !isRegular(b)),
    false,
  );
}

function entries(backups: readonly StoredBackup[], indexed: boolean): BackupEntry[] {
  const byId = new Map<string, StoredBackup[]>();
  // Snapshots of the same second in two tiers are two undo points, not one backup.
  for (const b of backups) byId.set(indexed ? b.id : `${b.tier}/${b.id}`, [...(byId.get(indexed ? b.id : `${b.tier}/${b.id}`) ?? []), b]);
  const rows = [...byId.values()].map((group) => {
    const first = group.find((g) => g.tier === "daily") ?? group[0]!;
    return {
      index: 0,
      id: first.id,
      tiers: group.map((g) => g.tier),
      dir: first.dir,
      time: first.time,
      bytes: first.bytes,
      release: `${first.manifest.release.image}:${first.manifest.release.tag}`,
      components: Object.keys(first.manifest.components) as ComponentName[],
      kept: Object.values(first.manifest.components).flatMap((c) => (c?.kept ? [c.name] : [])),
    };
  });
  rows.sort((a, b) => b.time.getTime() - a.time.getTime());
  if (indexed) for (const [i, r] of rows.entries()) r.index = i + 1;
  return rows;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatEntries(rows: readonly BackupEntry[]): string {
  if (rows.length === 0) return msg.backup.store.noBackups;
  const h = msg.backup.store.head;
  const head = [h.index, h.id, h.tier, h.size, h.release, h.components];
  const body = rows.map((r) => [r.index ? String(r.index) : "-", r.id, r.tiers.join("+"), formatBytes(r.bytes), r.release, r.components.join(",")]);
  const widths = head.map((c, i) => Math.max(displayWidth(c), ...body.map((b) => displayWidth(b[i]!))));
  return [head, ...body]
    .map((cols) =>
      cols
        .map((c, i) => padCells(c, widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * Pure: what --list prints: the indexed regular backups, then the snapshots (undo points),
 * then the directories that are not usable backups and why.
 */
export function formatListing(
  regular: readonly BackupEntry[],
  snapshots: readonly BackupEntry[],
  damaged: ReadonlyArray<{ dir: string; why: string }>,
  root: string,
  /** `tier/id` → why the snapshot policy will remove it (snapshotPruneMarks). */
  marks: ReadonlyMap<string, string> = new Map(),
): string {
  const parts = [formatEntries(regular)];
  if (snapshots.length) {
    const mark = (s: BackupEntry) => {
      const why = marks.get(entryKey(s));
      return why ? `  ${msg.backup.store.prunedByPolicy({ why })}` : "";
    };
    parts.push(
      "",
      msg.backup.store.snapshotsHeader,
      ...snapshots.map(
        (s) =>
          `  ${relative(root, s.dir)}  ${formatBytes(s.bytes)}  ${s.release}  ${s.components.map((c) => (s.kept.includes(c) ? msg.backup.store.keptInPlace({ component: c }) : c)).join(",")}${mark(s)}`,
      ),
    );
  }
  if (damaged.length) parts.push("", msg.backup.store.damagedHeader, ...damaged.map((d) => `  ${relative(root, d.dir)}: ${d.why}`));
  return parts.join("\n");
}

/** Resolve a user-given backup directory; it must lie inside backups/ and hold a manifest. */
export function resolveBackupDir(root: string, given: string): string {
  const abs = resolve(root, given);
  const rel = relative(backupsRoot(root), abs);
  if (rel === "" || rel.startsWith("..") || rel.split(sep).some((p) => p.startsWith("."))) {
    throw new InvalidBackupError(msg.backup.store.notBackupDir({ given, dir: BACKUPS_DIR }), msg.backup.manifest.listHint);
  }
  readManifest(abs);
  return abs;
}

// ---- writing ----------------------------------------------------------------------------------
export function newStagingDir(root: string, id: string): string {
  mkdirSync(backupsRoot(root), { recursive: true, mode: 0o700 });
  const dir = join(backupsRoot(root), `${TMP_PREFIX}${id}-${process.pid}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * A private scratch directory under backups/ (0700) for a drill or a decryption; its name
 * makes cleanLeftovers remove it if the run dies. The caller removes it when done.
 */
export function newWorkDir(root: string, purpose: string): string {
  mkdirSync(backupsRoot(root), { recursive: true, mode: 0o700 });
  return mkdtempSync(join(backupsRoot(root), `${TMP_PREFIX}${purpose}${ownWorkMark()}`));
}

/** Marks this process' own scratch dirs, which cleanLeftovers must not remove mid-run (a
 * restore's decrypted artifacts while its pre-restore snapshot is taken). */
const ownWorkMark = () => `-p${process.pid}-`;

/** Remove partial backups and half-done promotions of runs that died. Only call while holding the lock. */
export function cleanLeftovers(root: string): string[] {
  const base = backupsRoot(root);
  if (!existsSync(base)) return [];
  const gone: string[] = [];
  for (const dir of [base, ...STORE_TIERS.map((t) => join(base, t))]) {
    if (!existsSync(dir)) continue;
    for (const n of readdirSync(dir)) {
      if (n.startsWith(TMP_PREFIX) && !n.includes(ownWorkMark())) {
        rmSync(join(dir, n), { recursive: true, force: true });
        gone.push(relative(base, join(dir, n)));
      }
    }
  }
  return gone;
}

export function commitStaging(root: string, staging: string, tier: StoreTier, id: string): string {
  const tdir = join(backupsRoot(root), tier);
  mkdirSync(tdir, { recursive: true, mode: 0o700 });
  const final = join(tdir, id);
  if (existsSync(final)) throw new ClawError(msg.backup.store.alreadyExists({ key: `${tier}/${id}` }));
  renameSync(staging, final);
  return final;
}

/** Hard-link a committed backup into other tiers (copy only where a link cannot be made). */
export function promote(root: string, from: string, id: string, tiers: readonly Tier[]): string[] {
  const made: string[] = [];
  for (const tier of tiers) {
    const tdir = join(backupsRoot(root), tier);
    mkdirSync(tdir, { recursive: true, mode: 0o700 });
    const stage = join(tdir, `${TMP_PREFIX}${id}`);
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { mode: 0o700 });
    for (const f of readdirSync(from)) {
      try {
        linkSync(join(from, f), join(stage, f));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
        copyFileSync(join(from, f), join(stage, f));
      }
    }
    renameSync(stage, join(tdir, id));
    made.push(tier);
  }
  return made;
}

/** Delete what a prune plan says, and nothing outside backups/<tier>/<id>. */
export function applyPrune(root: string, plan: PrunePlan): string[] {
  const base = backupsRoot(root);
  const removed: string[] = [];
  for (const b of plan.remove) {
    if (!isBackupId(b.id) || !TIERS.includes(b.tier)) continue;
    const dir = join(base, b.tier, b.id);
    if (relative(base, dir).startsWith("..")) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(`${b.tier}/${b.id}`);
  }
  return removed;
}

export const refsOf = (backups: readonly StoredBackup[]): BackupRef[] =>
  backups.filter((b): b is StoredBackup & { tier: Tier } => isTier(b.tier)).map((b) => ({ tier: b.tier, id: b.id, time: b.time }));

/** A snapshot row's `tier/id` (snapshot rows have exactly one tier). */
export const entryKey = (e: Pick<BackupEntry, "tiers" | "id">): string => snapshotKey({ tier: e.tiers[0] ?? "", id: e.id });

/** The snapshot an undo record may name: `backups/<pre-rollback|pre-restore>/<id>` (groups: tier, id). */
export const UNDO_SNAPSHOT = new RegExp(`^${BACKUPS_DIR}/(${UNDO_TIERS.join("|")})/(${BACKUP_ID_SOURCE})$`);

/**
 * What backups/undo.json protects from the snapshot policy, read tolerantly (never throws):
 * none when there is no record; the snapshot it names (`tier/id`); or, when the record cannot be
 * read or names no snapshot, `unreadable`: then no pre-rollback or pre-restore snapshot may go.
 */
export function undoProtection(root: string): { kind: "none" } | { kind: "snapshot"; key: string } | { kind: "unreadable"; why: string } {
  const file = join(backupsRoot(root), UNDO_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
    return { kind: "unreadable", why: (e as Error).message };
  }
  let snapshot: unknown;
  try {
    snapshot = (JSON.parse(text) as { snapshot?: unknown } | null)?.snapshot;
  } catch {
    return { kind: "unreadable", why: msg.backup.store.undoNotJson };
  }
  const m = typeof snapshot === "string" ? UNDO_SNAPSHOT.exec(snapshot) : null;
  if (!m) return { kind: "unreadable", why: msg.backup.store.undoNoSnapshot };
  return { kind: "snapshot", key: `${m[1]}/${m[2]}` };
}

const isSnapshot = (b: StoredBackup): b is StoredBackup & { tier: SnapshotTier } => isSnapshotTier(b.tier);

/**
 * The snapshot policy's plan for the stored snapshots of `tiers` (all four by default), with the
 * undo record's snapshot protected. `backups` is a listing already made (listBackups), else
 * the tiers are listed here.
 */
export function planSnapshots(
  root: string,
  policy: SnapshotPolicy,
  now: Date,
  o: { tiers?: readonly SnapshotTier[]; backups?: readonly StoredBackup[]; warn?: (m: string) => void } = {},
): SnapshotPrunePlan {
  const tiers = o.tiers ?? SNAPSHOT_TIERS;
  const refs: SnapshotRef[] = (o.backups ?? listBackups(root, { tiers }))
    .filter(isSnapshot)
    .filter((b) => tiers.includes(b.tier))
    .map((b) => ({ tier: b.tier, id: b.id, time: b.time }));
  const undo = undoProtection(root);
  const protect = new Set<string>();
  if (undo.kind === "snapshot") protect.add(undo.key);
  if (undo.kind === "unreadable") {
    const undoTiers: readonly string[] = UNDO_TIERS;
    for (const r of refs) if (undoTiers.includes(r.tier)) protect.add(snapshotKey(r));
    if (refs.some((r) => undoTiers.includes(r.tier)))
      o.warn?.(msg.backup.store.undoUnreadable({ file: `${BACKUPS_DIR}/${UNDO_FILE}`, why: undo.why }));
  }
  return planSnapshotPrune(refs, policy, now, protect);
}

/**
 * Apply the snapshot policy to `tiers` (all four by default); returns the `tier/id` of what went.
 * Only a backups/<snapshot tier>/<YYYYMMDD-HHMMSS> directory is ever removed.
 */
export function pruneSnapshots(
  root: string,
  policy: SnapshotPolicy,
  now: Date,
  tiers: readonly SnapshotTier[] = SNAPSHOT_TIERS,
  warn: (m: string) => void = () => undefined,
): string[] {
  const plan = planSnapshots(root, policy, now, { tiers, warn });
  for (const s of plan.future ?? []) warn(msg.backup.store.snapshotFuture({ key: snapshotKey(s), time: s.time.toISOString() }));
  const base = backupsRoot(root);
  const removed: string[] = [];
  for (const s of plan.remove) {
    if (!isBackupId(s.id) || !SNAPSHOT_TIERS.includes(s.tier) || !tiers.includes(s.tier)) continue;
    const tdir = join(base, s.tier);
    const dir = resolve(tdir, s.id);
    if (relative(tdir, dir) !== s.id) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(snapshotKey(s));
  }
  return removed;
}

/**
 * pruneSnapshots after an operation that worked (a deploy, a migration): never throws, so a
 * wrong setting or an unremovable directory cannot turn that success into a failure; the
 * problem is warned instead. `policy` is read here, inside the guard.
 */
export function pruneSnapshotsAfterSuccess(
  root: string,
  policy: () => SnapshotPolicy,
  tiers: readonly SnapshotTier[],
  warn: (m: string) => void,
): string[] {
  try {
    return pruneSnapshots(root, policy(), new Date(), tiers, warn);
  } catch (e) {
    warn(msg.backup.store.notPruned({ reason: (e as Error).message }));
    return [];
  }
}

/** Policy terms for one tier, as the listing says why a snapshot goes. */
const pruneReason = (policy: SnapshotPolicy, tier: SnapshotTier) =>
  msg.backup.store.pruneReason({ days: policy.days, keep: policy.keep[tier], tier });

/**
 * `tier/id` → why, for every snapshot of a listing already made that the policy would remove
 * now, the undo record's excepted (what `--list` marks). Nothing is removed.
 */
export function snapshotPruneMarks(root: string, policy: SnapshotPolicy, now: Date, backups: readonly StoredBackup[]): Map<string, string> {
  const plan = planSnapshots(root, policy, now, { backups });
  return new Map(plan.remove.map((s) => [snapshotKey(s), pruneReason(policy, s.tier)]));
}
