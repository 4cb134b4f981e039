/**
 * The nightly backup job as backup.mts runs it, in named phases: recover what a dead run left
 * stopped → the backup → metrics → offsite copy → notifications. The caller holds the lock.
 */
import { hostname } from "node:os";
import { ClawError } from "../core/errors.ts";
import { localized } from "../core/i18n/index.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { writeMetrics } from "../infra/metrics.ts";
import { type Notification, notify } from "../infra/notify.ts";
import type { Project } from "../project/project.ts";
import { startLeftStopped } from "../project/release.ts";
import { reconcileServing } from "../project/serving.ts";
import { sweepKept } from "./kept.ts";
import { COMPONENTS, type ComponentName, type ComponentRecord } from "./manifest.ts";
import { copyOffsite } from "./offsite.ts";
import { recoverDeadSwaps } from "./recover.ts";
import { rolesNeeded } from "./registry.ts";
import { type BackupOutcome, runBackup } from "./run.ts";

export interface JobOutcome extends BackupOutcome {
  bytes: number;
  offsite: string | undefined;
}

export async function backupJob(project: Project, out: Output, lock: Lock, components: ComponentName[]): Promise<JobOutcome> {
  const started = Date.now();
  const say = (n: Omit<Notification, "event" | "host">) =>
    notify(project.config.notify.webhookUrl, { event: "backup", host: hostname(), ...n }, (m) => out.warn(m));
  if (lock.recoveredFrom) await recoverDeadRun(project, out, components);
  let r: BackupOutcome;
  try {
    // A restore that died may have left a volume half-swapped: never back that up as it is.
    await recoverDeadSwaps(project, out);
    r = await runBackup(project, out, { components, tier: "daily" });
    // Retention may have removed snapshots kept in place: their data beside the live data goes too.
    if (r.pruned.length) await sweepKept(project, out);
  } catch (e) {
    // Only a run that really tried counts as a failed backup (not a refusal like a held lock).
    const failed = e instanceof ClawError ? COMPONENTS.find((c) => e.component === c) : undefined;
    writeMetrics(project.root, { success: false, finishedAt: new Date(), durationMs: Date.now() - started, components: {} });
    await say({ status: "failure", reason: (e as Error).message, ...(failed ? { failedComponent: failed } : {}) });
    throw e;
  }
  const records = Object.values(r.manifest.components) as ComponentRecord[];
  const bytesOf = (c: ComponentRecord) => c.artifacts.reduce((s, a) => s + a.bytes, 0);
  writeMetrics(project.root, {
    success: true,
    finishedAt: new Date(),
    durationMs: r.durationMs,
    components: Object.fromEntries(records.map((c) => [c.name, { durationMs: c.durationMs, bytes: bytesOf(c) }])),
  });
  const offsite = await copyOffsiteShown(project, out, r).catch(async (e: Error) => {
    await say({ status: "failure", backup: r.id, failedComponent: "offsite", reason: e.message });
    throw e;
  });
  await say({ status: "success", backup: r.id, durationMs: r.durationMs });
  return { ...r, bytes: records.reduce((s, c) => s + bytesOf(c), 0), offsite };
}

/** A run that died may have had services stopped for a consistent copy: start them again first. */
async function recoverDeadRun(project: Project, out: Output, components: readonly ComponentName[]): Promise<void> {
  await project.compose.removeOneOffs(project.effectiveName);
  // Before any service starts again: a half-moved volume is put back first (Redis started on
  // it would write a fresh, empty dataset, which this backup would then keep).
  await recoverDeadSwaps(project, out);
  await startLeftStopped(project, rolesNeeded(components), (m) => out.warn(m));
  const reconciled = await reconcileServing(project).catch(() => undefined);
  if (reconciled) out.warn(reconciled);
}

async function copyOffsiteShown(project: Project, out: Output, r: BackupOutcome): Promise<string | undefined> {
  const offsite = project.config.offsite();
  if (!offsite) return undefined;
  const where = await out.step(
    localized((t) => t.backup.job.offsiteStep({ bucket: offsite.bucket })),
    () => copyOffsite(offsite, r.dir, "daily", r.id, (m) => out.warn(m)),
  );
  return `s3://${offsite.bucket}/${where}/`;
}
