/**
 * Raw copies of a named volume through one-off containers of the service that owns it
 * (`docker compose run --rm --no-deps --entrypoint …`): the image's own tar, the service
 * stopped, so the copy is consistent. Restore extracts beside the live data on the same
 * volume and only then replaces it, so a failed extraction changes nothing.
 */
import { chmodSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { ComposeClient } from "../../infra/compose-client.ts";
import { InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import type { ServiceModel } from "../../project/stack.ts";

/** The named volume a service keeps its data in (first named volume in the model). */
export function dataMount(service: ServiceModel): string {
  const v = service.volumes.find((m) => m.type === "volume");
  if (!v) throw new PreconditionError(`service ${service.name} has no named data volume in the compose file`);
  return v.target;
}

/** Prints "FILES <n>" and "BYTES <n>" for the regular files under a mount (busybox-compatible). */
const STATS_LINES = [
  'echo "FILES $(find . -type f | wc -l)"',
  "echo \"BYTES $(find . -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}')\"",
];
export const statsScript = (mount: string) => ["set -eu", `cd '${mount}'`, ...STATS_LINES].join("\n");

export const replaceScript = (mount: string) => [
  "set -eu",
  `cd '${mount}'`,
  "rm -rf .claw-restore-new",
  "mkdir .claw-restore-new",
  "tar -C .claw-restore-new -xf -",
  "find . -mindepth 1 -maxdepth 1 ! -name .claw-restore-new -exec rm -rf {} +",
  "find .claw-restore-new -mindepth 1 -maxdepth 1 -exec mv {} . \\;",
  "rmdir .claw-restore-new",
].join("\n");

/**
 * Drill for a raw volume tar: extracted from stdin into a temp dir of a throwaway container,
 * then the same FILES/BYTES figures as statsScript. `then` runs afterwards with $D set
 * (e.g. start the server on the extracted data).
 */
export const drillScript = (then: readonly string[] = []) => [
  "set -eu",
  "D=$(mktemp -d /tmp/claw-drill.XXXXXX)",
  'tar -C "$D" -xf -',
  'cd "$D"',
  ...STATS_LINES,
  ...then,
].join("\n");

/** Throwaway-container drill of a volume tar; the figures it found. */
export async function drillVolume(compose: ComposeClient, projectName: string, service: ServiceModel, file: string, then: readonly string[] = []): Promise<{ files: number; bytes: number; stdout: string }> {
  const r = await compose.throwaway(projectName, service.name, ["-c", drillScript(then)], { entrypoint: "sh" }, { stdinFile: file, timeoutMs: 6 * 3600_000, allowFailure: true });
  if (r.status !== 0) throw new InvalidBackupError(`${service.name}: the volume archive does not extract and start cleanly: ${lastLine(r.stderr)}`);
  return { ...parseStats(r.stdout), stdout: r.stdout };
}

export interface VolumeStats {
  files: number;
  bytes: number;
}

export function parseStats(text: string): VolumeStats {
  const files = /FILES\s+(\d+)/.exec(text);
  const bytes = /BYTES\s+(\d+)/.exec(text);
  if (!files || !bytes) throw new PreconditionError(`could not read volume statistics: ${text.trim().slice(0, 200)}`);
  return { files: Number(files[1]), bytes: Number(bytes[1]) };
}

export async function volumeStats(compose: ComposeClient, service: ServiceModel): Promise<{ files: number; bytes: number }> {
  const r = await compose.runOnce(service.name, ["-c", statsScript(dataMount(service))], { entrypoint: "sh", noDeps: true });
  return parseStats(r.stdout);
}

/** Where archiveVolume mounts the backup directory in its one-off container. */
export const OUT_MOUNT = "/claw-out";

/** Stats on stdout, then the tar written straight into the mounted backup dir: one container start. */
export const archiveScript = (mount: string, name: string) => `${statsScript(mount)}\ntar -cf '${OUT_MOUNT}/${name}' .`;

/**
 * The volume as a raw tar (the service stopped), with the stats of what went in. The tar is
 * written through a bind mount, not streamed out: a `compose run` container's stdout goes
 * through Docker's log driver (json-file here), which made a 300 MB copy 6× slower and put
 * the data into the container's log file.
 */
export async function archiveVolume(compose: ComposeClient, service: ServiceModel, file: string): Promise<VolumeStats> {
  if (basename(file).includes("'")) throw new PreconditionError(`unexpected archive name ${basename(file)}`);
  const r = await compose.runOnce(service.name, ["-c", archiveScript(dataMount(service), basename(file))],
    { entrypoint: "sh", noDeps: true, volumes: [`${dirname(file)}:${OUT_MOUNT}`] }, { timeoutMs: 6 * 3600_000 });
  chmodSync(file, 0o600);
  return parseStats(r.stdout);
}

export async function replaceVolume(compose: ComposeClient, service: ServiceModel, file: string): Promise<void> {
  await compose.runOnce(service.name, ["-c", replaceScript(dataMount(service))], { entrypoint: "sh", noDeps: true },
    { stdinFile: file, timeoutMs: 6 * 3600_000 });
}
