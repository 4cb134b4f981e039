/**
 * The tiers of backups/: where a backup or a snapshot lives (backups/<tier>/<id>/), one
 * definition for the store, retention, the settings and the restore's undo record.
 */

/** Regular backups: each new one in daily/, hard-linked into weekly/ and monthly/ when it is the first of its period. */
export type Tier = "daily" | "weekly" | "monthly";
export const TIERS: readonly Tier[] = Object.freeze(["daily", "weekly", "monthly"] as const);

/** Copies taken before an operation changes live data (undo points), pruned by their own policy. */
export const SNAPSHOT_TIERS = Object.freeze(["pre-rollback", "pre-restore", "pre-deploy", "pre-migrate"] as const);
export type SnapshotTier = (typeof SNAPSHOT_TIERS)[number];

/** The snapshots a restore takes: the only ones an undo record names and in-place data is kept for. */
export const UNDO_TIERS = Object.freeze(["pre-rollback", "pre-restore"] as const satisfies readonly SnapshotTier[]);

/** Pure: whether `tier` is a regular backup tier. */
export const isTier = (tier: string): tier is Tier => (TIERS as readonly string[]).includes(tier);
/** Pure: whether `tier` is a snapshot tier. */
export const isSnapshotTier = (tier: string): tier is SnapshotTier => (SNAPSHOT_TIERS as readonly string[]).includes(tier);
