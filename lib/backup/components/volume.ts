/**
 * Raw copies of a named volume through one-off containers on the mounts of the service that
 * owns it (ComposeClient.onVolumes): the image's own tar, the service stopped, so the copy is
 * consistent. A restore stages the data beside the live data in the same volume (while the
 * service still runs) and swaps it in by renames once the service is stopped, so a failed
 * extraction changes nothing; the data it replaces may stay as the in-place snapshot.
 */
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  archiveCommand,
  armedSwapScript,
  drillCommand,
  dropKeptScript,
  type Fingerprint,
  GATE_MOUNT,
  keptFingerprintScript,
  keptName,
  listKeptScript,
  needsRecoveryScript,
  OUT_MOUNT,
  parseFingerprint,
  parseKept,
  parseNeedsRecovery,
  parseRecorded,
  parseStats,
  recoverScript,
  shCommand,
  stageFromKeptScript,
  stageName,
  stageScript,
  type VolumeStats,
} from "../../commands/volume.ts";
import { settleAll } from "../../core/async.ts";
import { ClawError, InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import type { ComposeClient } from "../../infra/compose-client.ts";
import { findByRole, type ServiceModel } from "../../project/stack.ts";
import { newWorkDir } from "../store.ts";
import type { ComponentContext, KeptPlace, Recovery } from "./component.ts";

export type { Fingerprint, VolumeStats } from "../../commands/volume.ts";

/** The services whose named data volume a restore stages into and keeps in place (Redis; etcd, MinIO and Milvus). */
export const VOLUME_ROLES = ["redis", "etcd", "minio", "milvus"] as const;
type VolumeRole = (typeof VOLUME_ROLES)[number];

/** recover() of a component made of volumes: each of its services the stack has, at the same time. */
export async function recoverVolumes(ctx: ComponentContext, roles: readonly VolumeRole[]): Promise<Recovery> {
  const jobs = volumeServices(ctx, roles).map((svc) => recoverVolume(ctx.project.compose, svc));
  return { lines: (await settleAll(jobs)).flat() };
}

/** kept() of a component made of volumes: each of its services' volume, named by the service. */
export function keptInVolumes(ctx: ComponentContext, roles: readonly VolumeRole[]): KeptPlace[] {
  const compose = ctx.project.compose;
  return volumeServices(ctx, roles).map((svc) => ({
    what: svc.name,
    list: () => keptInVolume(compose, svc),
    drop: (tags) => dropKeptInVolume(compose, svc, tags),
  }));
}

const volumeServices = (ctx: ComponentContext, roles: readonly VolumeRole[]): ServiceModel[] =>
  roles.flatMap((r) => findByRole(ctx.project.stack, r) ?? []);

/** The named volume a service keeps its data in (first named volume in the model). */
export function dataMount(service: ServiceModel): string {
  const v = service.volumes.find((m) => m.type === "volume");
  if (!v) throw new PreconditionError(msg.components.volume.noDataVolume({ service: service.name }));
  return v.target;
}

/** Throwaway-container drill of a volume tar; the figures it found. */
export async function drillVolume(
  compose: ComposeClient,
  projectName: string,
  service: ServiceModel,
  file: string,
  then: readonly string[] = [],
): Promise<VolumeStats & { stdout: string }> {
  const r = await compose.throwaway(
    projectName,
    service.name,
    drillCommand(then),
    { entrypoint: "sh" },
    { stdinFile: file, timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
  );
  if (r.status !== 0) throw new InvalidBackupError(msg.components.volume.drillFailed({ service: service.name, reason: lastLine(r.stderr) }));
  return { ...parseStats(r.stdout), stdout: r.stdout };
}

/**
 * The volume as a raw tar (the service stopped), with the stats of what went in. The tar is
 * written through a bind mount, not streamed out: a `compose run` container's stdout goes
 * through Docker's log driver (json-file here), which made a 300 MB copy 6× slower and put
 * the data into the container's log file.
 */
export async function archiveVolume(compose: ComposeClient, service: ServiceModel, file: string): Promise<VolumeStats> {
  if (basename(file).includes("'")) throw new PreconditionError(msg.components.volume.badArchiveName({ name: basename(file) }));
  const r = await compose.onVolumes(
    service.name,
    archiveCommand(dataMount(service), basename(file)),
    { entrypoint: "sh", volumes: [`${dirname(file)}:${OUT_MOUNT}`] },
    { timeoutMs: DATA_COMMAND_TIMEOUT_MS },
  );
  chmodSync(file, 0o600);
  return parseStats(r.stdout);
}

/** Where staged data comes from: a tar (a backup's artifact) or an in-place snapshot in the same volume. */
export type StageSource = { file: string } | { kept: string };

/**
 * Restore beside the live data (the service may run): recover what a killed restore left,
 * then the data staged in `.claw-restore-<tag>`; its fingerprint. `produce` replaces the tar
 * extraction (etcd, Redis: their own procedures, fed the file on stdin).
 */
export async function stageVolume(
  compose: ComposeClient,
  service: ServiceModel,
  tag: string,
  source: StageSource,
  produce?: readonly string[],
): Promise<Fingerprint & { stdout: string; recorded: Fingerprint | undefined }> {
  const mount = dataMount(service);
  const script = "file" in source ? stageScript(mount, tag, produce) : stageFromKeptScript(mount, source.kept, tag);
  const r = await compose.onVolumes(
    service.name,
    shCommand(script),
    { entrypoint: "sh", background: true },
    { ...("file" in source ? { stdinFile: source.file } : {}), timeoutMs: DATA_COMMAND_TIMEOUT_MS, allowFailure: true },
  );
  if (r.status === 5) throw new InvalidBackupError(msg.components.volume.stageRefused({ service: service.name, reason: lastLine(r.stderr) }));
  if (r.status === 4) throw new InvalidBackupError(`${service.name}: ${lastLine(r.stderr)}`, msg.components.volume.keptDataGone);
  if (r.status !== 0) throw new ClawError(msg.components.volume.stageFailed({ service: service.name, reason: lastLine(r.stderr) }));
  return { ...parseFingerprint(r.stdout), stdout: r.stdout, recorded: parseRecorded(r.stdout) };
}

/** Remove what stageVolume made (a prepare whose restore will not happen). */
export async function unstageVolume(compose: ComposeClient, service: ServiceModel, tag: string): Promise<void> {
  await compose.onData(service.name, shCommand(`cd '${dataMount(service)}' && rm -rf '${stageName(tag)}'`), { allowFailure: true });
}

export interface ArmedSwap {
  /** Release it (the service must be stopped by now): the live figures afterwards. */
  go(): Promise<VolumeStats>;
  /** Let it go without swapping anything. */
  cancel(): Promise<void>;
}

/**
 * The swap of a volume (swapScript, run once the service is stopped: the staged data swapped
 * in by renames, what it replaces kept as `.claw-kept-<tag>` when `keep`, else removed), its
 * one-off container started now and released later: starting a container costs about a
 * second here, which then overlaps the stopping of the service.
 */
export function armSwap(compose: ComposeClient, service: ServiceModel, tag: string, keep: boolean, root: string): ArmedSwap {
  const gate = newWorkDir(root, "swap-gate");
  // Only empty go/stop files go in it; the container's user (not always root) must see them.
  chmodSync(gate, 0o755);
  const done = compose
    .onVolumes(
      service.name,
      shCommand(armedSwapScript(dataMount(service), tag, keep)),
      { entrypoint: "sh", volumes: [`${gate}:${GATE_MOUNT}:ro`] },
      {
        timeoutMs: DATA_COMMAND_TIMEOUT_MS,
      },
    )
    .finally(() => rmSync(gate, { recursive: true, force: true }));
  // Until released, a failure to start is reported by go() or swallowed by cancel().
  done.catch(() => undefined);
  // The container may have ended already (it failed to start, or gave up): then its result says why.
  const release = (word: string) => {
    if (existsSync(gate)) writeFileSync(join(gate, word), "");
  };
  return {
    go: async () => {
      release("go");
      return parseStats((await done).stdout);
    },
    cancel: async () => {
      release("stop");
      await done.catch(() => undefined);
    },
  };
}

/**
 * An in-place snapshot's fingerprint now and the one recorded when it was made (undefined
 * when it has none), or undefined when it is not in the volume.
 */
export async function keptFingerprint(
  compose: ComposeClient,
  service: ServiceModel,
  tag: string,
): Promise<{ now: Fingerprint; recorded: Fingerprint | undefined } | undefined> {
  const r = await compose.onData(service.name, shCommand(keptFingerprintScript(dataMount(service), tag)), {
    allowFailure: true,
    timeoutMs: DATA_COMMAND_TIMEOUT_MS,
  });
  if (r.status === 4 && /KEPT MISSING/.test(r.stdout)) return undefined;
  if (r.status !== 0)
    throw new ClawError(msg.components.volume.keptUnreadable({ service: service.name, kept: keptName(tag), reason: lastLine(r.stderr) }));
  return { now: parseFingerprint(r.stdout), recorded: parseRecorded(r.stdout) };
}

/**
 * Put a volume back together after a restore that died (recoverScript): a half move needs the
 * service stopped (it is stopped for it, and started again if it ran); a lone staging dir is
 * removed beside what runs. Returns what was done, for a warning.
 */
export async function recoverVolume(compose: ComposeClient, service: ServiceModel): Promise<string[]> {
  const mount = dataMount(service);
  const need = parseNeedsRecovery((await compose.onData(service.name, shCommand(needsRecoveryScript(mount)))).stdout);
  if (!need.stopped.length && !need.staged.length) return [];
  const recover = async (onVolumes: boolean) => {
    const r = onVolumes
      ? await compose.onVolumes(service.name, shCommand(recoverScript(mount)), { entrypoint: "sh" }, { timeoutMs: DATA_COMMAND_TIMEOUT_MS })
      : await compose.onData(service.name, shCommand(recoverScript(mount)), { timeoutMs: DATA_COMMAND_TIMEOUT_MS });
    return [...r.stdout.matchAll(/^RECOVERED (.+)$/gm)].map((m) => `${service.name}: ${m[1]}`);
  };
  if (!need.stopped.length) return recover(false);
  const running = (await compose.runningId(service.name)) != null;
  if (!running) return recover(true);
  return compose.whileStopped([service.name], () => recover(true));
}

/** The in-place snapshots a volume holds (their tags). */
export async function keptInVolume(compose: ComposeClient, service: ServiceModel): Promise<string[]> {
  return parseKept((await compose.onData(service.name, shCommand(listKeptScript(dataMount(service))))).stdout);
}

export async function dropKeptInVolume(compose: ComposeClient, service: ServiceModel, tags: readonly string[]): Promise<void> {
  if (tags.length) await compose.onData(service.name, shCommand(dropKeptScript(dataMount(service), tags)), { timeoutMs: DATA_COMMAND_TIMEOUT_MS });
}

/** Pure: how an in-place snapshot (or a copy of it) differs from what it recorded when it was made, or undefined. */
export function fingerprintDiffers(what: string, got: { now: Fingerprint; recorded: Fingerprint | undefined } | undefined): string | undefined {
  if (!got) return msg.components.volume.keptGone({ what });
  const { now, recorded } = got;
  if (!recorded) return msg.components.volume.keptNoFingerprint({ what });
  if (now.files !== recorded.files || now.bytes !== recorded.bytes || now.sum !== recorded.sum)
    return msg.components.volume.keptChanged({ what, files: now.files, bytes: now.bytes, wantFiles: recorded.files, wantBytes: recorded.bytes });
  return undefined;
}

/** Pure: the figures a restored volume must show, or the line that says how they differ. */
export function statsDiffer(what: string, got: VolumeStats, want: { files: number | undefined; bytes: number | undefined }): string | undefined {
  return got.files === want.files && got.bytes === want.bytes
    ? undefined
    : msg.components.volume.statsDiffer({ what, files: got.files, bytes: got.bytes, wantFiles: want.files, wantBytes: want.bytes });
}
