/**
 * Raw copies of a named volume through one-off containers on the mounts of the service that
 * owns it (ComposeClient.onVolumes): the image's own tar, the service stopped, so the copy is
 * consistent. Restore extracts beside the live data on the same
 * volume and only then replaces it, so a failed extraction changes nothing.
 */
import { chmodSync } from "node:fs";
import { basename, dirname } from "node:path";
import { archiveCommand, drillCommand, OUT_MOUNT, parseStats, replaceCommand, statsCommand, type VolumeStats } from "../../commands/volume.ts";
import { InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../../core/time.ts";
import type { ComposeClient } from "../../infra/compose-client.ts";
import type { ServiceModel } from "../../project/stack.ts";

export type { VolumeStats } from "../../commands/volume.ts";

/** The named volume a service keeps its data in (first named volume in the model). */
export function dataMount(service: ServiceModel): string {
  const v = service.volumes.find((m) => m.type === "volume");
  if (!v) throw new PreconditionError(`service ${service.name} has no named data volume in the compose file`);
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
  if (r.status !== 0) throw new InvalidBackupError(`${service.name}: the volume archive does not extract and start cleanly: ${lastLine(r.stderr)}`);
  return { ...parseStats(r.stdout), stdout: r.stdout };
}

export async function volumeStats(compose: ComposeClient, service: ServiceModel): Promise<VolumeStats> {
  const r = await compose.onVolumes(service.name, statsCommand(dataMount(service)), { entrypoint: "sh" });
  return parseStats(r.stdout);
}

/**
 * The volume as a raw tar (the service stopped), with the stats of what went in. The tar is
 * written through a bind mount, not streamed out: a `compose run` container's stdout goes
 * through Docker's log driver (json-file here), which made a 300 MB copy 6× slower and put
 * the data into the container's log file.
 */
export async function archiveVolume(compose: ComposeClient, service: ServiceModel, file: string): Promise<VolumeStats> {
  if (basename(file).includes("'")) throw new PreconditionError(`unexpected archive name ${basename(file)}`);
  const r = await compose.onVolumes(
    service.name,
    archiveCommand(dataMount(service), basename(file)),
    { entrypoint: "sh", volumes: [`${dirname(file)}:${OUT_MOUNT}`] },
    { timeoutMs: DATA_COMMAND_TIMEOUT_MS },
  );
  chmodSync(file, 0o600);
  return parseStats(r.stdout);
}

/** Replace the volume's data from the tar (extracted beside it first); the figures of what is live afterwards. */
export async function replaceVolume(compose: ComposeClient, service: ServiceModel, file: string): Promise<VolumeStats> {
  const r = await compose.onVolumes(
    service.name,
    replaceCommand(dataMount(service)),
    { entrypoint: "sh" },
    { stdinFile: file, timeoutMs: DATA_COMMAND_TIMEOUT_MS },
  );
  return parseStats(r.stdout);
}

/** Pure: the figures a restored volume must show, or the line that says how they differ. */
export function statsDiffer(what: string, got: VolumeStats, want: { files: number | undefined; bytes: number | undefined }): string | undefined {
  return got.files === want.files && got.bytes === want.bytes
    ? undefined
    : `${what} holds ${got.files} files / ${got.bytes} bytes after restore, the backup ${want.files} / ${want.bytes}`;
}
