/**
 * Promotion and retention: pure, no I/O, no clock (`now` is always a parameter).
 *
 * Backups live in `backups/{daily,weekly,monthly}/<id>/` (lib/core/vocabulary/backup-id.ts:
 * `YYYYMMDD-HHMMSS` in the server's local time). A new backup is written to `daily/` and
 * hard-linked into `weekly/` (first backup of its ISO week) and `monthly/` (first of its
 * calendar month), both in local time. Ages are measured between true instants
 * (`BackupRef.time`, from the manifest), never between ids.
 */
import { ClawError, ExitCode } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { compareBackupIds } from "../core/vocabulary/backup-id.ts";
import { isSnapshotTier, SNAPSHOT_TIERS, type SnapshotTier, type Tier } from "../core/vocabulary/tiers.ts";
import type { RetentionPolicy, SnapshotPolicy } from "../project/config.ts";

export interface BackupRef {
  tier: Tier;
  id: string;
  /** The true instant the backup was taken, from its manifest. */
  time: Date;
}

/** Retention refused to act (it would leave no backup, or was given nonsense). */
export class RetentionError extends ClawError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.failed, ...(hint ? { hint } : {}) });
  }
}

const DAY_MS = 86_400_000;

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

function validTime(d: Date): number {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError(msg.backup.retention.invalidDate);
  return t;
}

/** ISO 8601 week of the local date, with its ISO week-year: 2027-01-01 → "2026-W53". */
export function isoWeekKey(d: Date): string {
  validTime(d);
  // Work on the local calendar date as a UTC midnight, so DST cannot shift the day arithmetic.
  const day = Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(day + (3 - weekday) * DAY_MS); // the week's Thursday decides its year
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${pad(year, 4)}-W${pad(week)}`;
}

/** Calendar month of the local date: "2026-11". */
export function monthKey(d: Date): string {
  validTime(d);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}`;
}

const PERIOD_KEY: Record<Exclude<Tier, "daily">, (d: Date) => string> = { weekly: isoWeekKey, monthly: monthKey };

/**
 * Tiers (besides daily) the new backup must be hard-linked into, given what exists: weekly
 * when no weekly backup falls in its ISO week, monthly when none falls in its month (local
 * time). So when Monday's run failed, Tuesday's backup covers the week. Only `time` of the new
 * backup is read.
 */
export function promotionsFor(newBackup: BackupRef, existing: readonly BackupRef[]): Tier[] {
  const out: Tier[] = [];
  for (const tier of ["weekly", "monthly"] as const) {
    const key = PERIOD_KEY[tier];
    const want = key(newBackup.time);
    const covered = existing.some((b) => b.tier === tier && !Number.isNaN(b.time.getTime()) && key(b.time) === want);
    if (!covered) out.push(tier);
  }
  return out;
}

export interface PrunePlan {
  remove: BackupRef[];
  keep: BackupRef[];
  /** Kept but left out of the policy: dated after `now` (a clock that was wrong, or a planted backup). */
  future?: BackupRef[];
}

const POLICY_DAYS: Record<Tier, keyof RetentionPolicy> = { daily: "dailyDays", weekly: "weeklyDays", monthly: "monthlyDays" };

function checkPolicy(policy: RetentionPolicy): void {
  for (const key of Object.values(POLICY_DAYS)) {
    const v = policy[key];
    if (!Number.isSafeInteger(v) || v <= 0) throw new RetentionError(msg.backup.retention.policyDays({ key, value: v }));
  }
}

/**
 * Refuse a plan that would leave no backup at all. planPrune cannot produce one (it keeps the
 * newest backup of each tier), so this is the last line of defence, exported for callers that
 * build or filter plans themselves.
 */
export function assertPlanKeepsSomething(backups: readonly BackupRef[], plan: PrunePlan): void {
  if (backups.length > 0 && (plan.keep.length === 0 || plan.remove.length >= backups.length)) {
    throw new RetentionError(msg.backup.retention.wouldRemoveAll({ n: backups.length }), msg.backup.retention.wouldRemoveAllHint);
  }
}

/**
 * Pure retention. A backup of tier T is removed when now - time >= policy days of T (whole
 * 24-hour days between true instants; exactly N days old is expired). Overrides:
 *  - the newest backup of each tier that is not in the future is always kept, even when expired;
 *  - a backup whose time is after `now` (the clock moved back, or a planted backup) is kept,
 *    listed in `future`, and never counts as the newest: it protects nothing;
 *  - a backup with an invalid time is kept (its age cannot be judged);
 *  - a plan removing every backup throws RetentionError.
 * Input order is preserved in both lists.
 */
export function planPrune(backups: readonly BackupRef[], policy: RetentionPolicy, now: Date): PrunePlan {
  checkPolicy(policy);
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new RetentionError(msg.backup.retention.nowInvalid);

  // The newest of each tier is the newest that is not in the future: a backup dated ahead
  // of the clock must not take that protection from the real newest one.
  const newest = new Map<Tier, number>();
  for (const b of backups) {
    const t = b.time.getTime();
    if (!Number.isNaN(t) && t <= nowMs && t > (newest.get(b.tier) ?? -Infinity)) newest.set(b.tier, t);
  }

  const plan: PrunePlan = { remove: [], keep: [] };
  const future: BackupRef[] = [];
  for (const b of backups) {
    const days = POLICY_DAYS[b.tier];
    if (days === undefined) throw new RetentionError(msg.backup.retention.unknownTier({ tier: JSON.stringify(b.tier), id: b.id }));
    const t = b.time.getTime();
    const age = nowMs - t;
    const expired = !Number.isNaN(t) && age >= 0 && age >= policy[days] * DAY_MS && t !== newest.get(b.tier);
    (expired ? plan.remove : plan.keep).push(b);
    if (age < 0) future.push(b);
  }
  assertPlanKeepsSomething(backups, plan);
  return future.length ? { ...plan, future } : plan;
}

// ---- snapshots ---------------------------------------------------------------------------------

export interface SnapshotRef {
  tier: SnapshotTier;
  id: string;
  /** The true instant the snapshot was taken, from its manifest. */
  time: Date;
}

export interface SnapshotPrunePlan {
  remove: SnapshotRef[];
  keep: SnapshotRef[];
  /** Kept but left out of the policy: dated after `now`. */
  future?: SnapshotRef[];
}

/** `tier/id`: how a snapshot is named in `protect` and in what a prune reports. */
export const snapshotKey = (s: { tier: string; id: string }): string => `${s.tier}/${s.id}`;

function checkSnapshotPolicy(policy: SnapshotPolicy): void {
  for (const tier of SNAPSHOT_TIERS) {
    const v = policy.keep?.[tier];
    if (!Number.isSafeInteger(v) || v <= 0) throw new RetentionError(msg.backup.retention.snapshotKeep({ tier, value: v }));
  }
  if (!Number.isSafeInteger(policy.days) || policy.days <= 0) throw new RetentionError(msg.backup.retention.snapshotDays({ value: policy.days }));
}

/**
 * Pure snapshot retention, each tier on its own: the newest `policy.keep[tier]` snapshots (by
 * true time, never by id) are kept, and every one younger than `policy.days` days
 * (now - time < days × 24 h); the rest is removed. Overrides:
 *  - a snapshot whose `tier/id` is in `protect` (the undo record's) is kept;
 *  - one dated after `now` is kept, listed in `future`, and never counts among the newest;
 *  - one with an invalid time is kept (its age cannot be judged).
 * Input order is preserved in both lists.
 */
export function planSnapshotPrune(
  snapshots: readonly SnapshotRef[],
  policy: SnapshotPolicy,
  now: Date,
  protect: ReadonlySet<string> = new Set(),
): SnapshotPrunePlan {
  checkSnapshotPolicy(policy);
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new RetentionError(msg.backup.retention.nowInvalid);
  for (const s of snapshots)
    if (!isSnapshotTier(s.tier)) throw new RetentionError(msg.backup.retention.unknownSnapshotTier({ tier: JSON.stringify(s.tier), id: s.id }));

  const newest = new Set<SnapshotRef>();
  for (const tier of SNAPSHOT_TIERS) {
    const dated = snapshots
      .filter((s) => s.tier === tier && !Number.isNaN(s.time.getTime()) && s.time.getTime() <= nowMs)
      .sort((a, b) => b.time.getTime() - a.time.getTime() || compareBackupIds(b.id, a.id));
    for (const s of dated.slice(0, Math.max(1, policy.keep[tier]))) newest.add(s);
  }

  const plan: SnapshotPrunePlan = { remove: [], keep: [] };
  const future: SnapshotRef[] = [];
  for (const s of snapshots) {
    const t = s.time.getTime();
    const age = nowMs - t;
    const old = !Number.isNaN(t) && age >= policy.days * DAY_MS;
    (old && !newest.has(s) && !protect.has(snapshotKey(s)) ? plan.remove : plan.keep).push(s);
    if (age < 0) future.push(s);
  }
  // The last line of defence: no tier is ever emptied by a plan.
  for (const tier of SNAPSHOT_TIERS) {
    if (snapshots.some((s) => s.tier === tier) && !plan.keep.some((s) => s.tier === tier))
      throw new RetentionError(msg.backup.retention.wouldEmptyTier({ tier }), msg.backup.retention.checkClock);
  }
  return future.length ? { ...plan, future } : plan;
}
