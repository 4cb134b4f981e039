/**
 * The restore plan, shared by `backup.mts --restore`, `rollback.mts` (and deploy's automatic
 * rollback): everything is checked before anything is touched — manifest, checksums, the
 * components present, the key of an encrypted backup — and the result is the plan the apply
 * step walks and --dry-run prints.
 */

import { checkKeyFits } from "../backup/encryption.ts";
import { COMPONENTS, type ComponentName, type Manifest, readManifest, verifyArtifacts } from "../backup/manifest.ts";
import { InvalidBackupError } from "../core/errors.ts";
import { displayWidth, msg, padCells } from "../core/i18n/index.ts";
import type { Secret } from "../core/secret.ts";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import type { Project } from "../project/project.ts";
import { formatRelease, releaseOf, servicesOf } from "../project/release.ts";
import type { Role } from "../project/stack.ts";
import { backupTag, type ReleaseSwitch, releaseSwitchOf } from "./release-switch.ts";

/** Services that use the data and are stopped while it is replaced. */
export const DEPENDENT_ROLES: Role[] = ["backend", "celery-worker", "celery-beat", "flower"];

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
  /**
   * The restored .env.prod holds another CLAW_AI_TAG than the live one (config restored):
   * from the live tag to the backup's. Not known for an encrypted backup (not decrypted to plan).
   */
  releaseSwitch?: ReleaseSwitch;
  /** The key that decrypts an encrypted backup (checked while planning). */
  key?: Secret;
}

/** Validate everything before anything is touched; returns the plan the apply step walks. */
export async function planRestore(
  project: Project,
  dir: string,
  wanted: readonly ComponentName[],
  snapshotTier: SnapshotTier,
  key?: Secret,
  o: { allowPlaintext?: boolean } = {},
): Promise<RestorePlan> {
  const manifest = readManifest(dir);
  refusePlaintext(manifest, encryptionExpected(project), o.allowPlaintext === true);
  const components = COMPONENTS.filter((c) => wanted.includes(c));
  await verifyArtifacts(dir, manifest, components);
  // A missing or wrong key is found now, with nothing touched (also by --dry-run).
  await checkKeyFits(project.root, dir, manifest, components, key);
  // All of them, running or not: a run that died may have left some stopped, and the
  // restore ends with every one of them started and healthy. A configuration-only restore
  // touches no data: nothing needs to stop.
  const touchesData = components.some((c) => c !== "config");
  const releaseSwitch = components.includes("config") ? releaseSwitchOf(components, project.config.release.tag, backupTag(dir, manifest)) : undefined;
  return {
    dir,
    manifest,
    components,
    skipped: COMPONENTS.filter((c) => !components.includes(c)),
    stop: touchesData ? servicesOf(project, DEPENDENT_ROLES) : [],
    snapshotTier,
    releaseFrom: formatRelease(releaseOf(project)),
    releaseTo: formatRelease(manifest.release),
    ...(releaseSwitch ? { releaseSwitch } : {}),
    ...(key ? { key } : {}),
  };
}

/** Whether this set-up encrypts its backups (recipients or a key in .env.prod). */
export const encryptionExpected = (project: Project) =>
  project.config.encryption.recipients.length > 0 || project.config.encryption.key !== undefined;

/**
 * Pure: an encrypted set-up must not silently accept a plaintext backup (one planted in
 * backups/, or made before encryption was turned on): only with --allow-plaintext.
 */
export function refusePlaintext(m: Manifest, expected: boolean, allowed: boolean): void {
  if (expected && !m.encryption && !allowed) {
    throw new InvalidBackupError(msg.restore.plan.notEncrypted({ id: m.id }), msg.restore.plan.notEncryptedHint);
  }
}

/** Pure: the plan as the lines an operator reads before confirming (labels in one column, by terminal cells). */
export function describePlan(p: RestorePlan): string[] {
  const t = msg.restore.plan;
  const width = Math.max(...Object.values(t.labels).map(displayWidth)) + 1;
  const line = (label: string, value: string) => `${padCells(label, width)}${value}`;
  const config = p.components.includes("config");
  return [
    line(t.labels.backup, (p.manifest.encryption ? t.backupEncrypted : t.backup)({ id: p.manifest.id, dir: p.dir })),
    line(t.labels.restore, p.components.join(", ") || t.nothing),
    line(t.labels.leaveAsIs, p.skipped.join(", ") || t.nothing),
    line(t.labels.config, config ? t.configRestored : t.configNotRestored),
    line(
      t.labels.release,
      config && p.releaseTo !== p.releaseFrom
        ? t.releaseChanges({ from: p.releaseFrom, to: p.releaseTo })
        : t.releaseUnchanged({ from: p.releaseFrom }),
    ),
    // The restored .env.prod holds another CLAW_AI_TAG: said under the release line.
    ...(config && p.releaseSwitch ? [t.releaseSwitch(p.releaseSwitch)] : []),
    line(t.labels.stopStart, p.stop.join(", ") || t.none),
    line(t.labels.snapshot, t.snapshot({ tier: p.snapshotTier })),
  ];
}

/** Pure: the plan as the --dry-run --json result. */
export function planResult(p: RestorePlan): Record<string, unknown> {
  return {
    ok: true,
    dryRun: true,
    backup: p.manifest.id,
    restore: p.components,
    skip: p.skipped,
    stop: p.stop,
    snapshotTier: p.snapshotTier,
    ...(p.releaseSwitch ? { releaseSwitch: { from: p.releaseSwitch.from, to: p.releaseSwitch.to } } : {}),
  };
}
