/**
 * Raw volume copies as sh scripts for one-off containers (stats, archive through a bind
 * mount, replace from stdin, drill in a temp dir), and the parser of their figures. Pure.
 */
import { ClawError } from "../core/errors.ts";

/** Prints "FILES <n>" and "BYTES <n>" for the regular files under a mount (busybox-compatible). */
const STATS_LINES = [
  'echo "FILES $(find . -type f | wc -l)"',
  "echo \"BYTES $(find . -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}')\"",
];
export const statsScript = (mount: string) => ["set -eu", `cd '${mount}'`, ...STATS_LINES].join("\n");

export const replaceScript = (mount: string) =>
  [
    "set -eu",
    `cd '${mount}'`,
    "rm -rf .claw-restore-new",
    "mkdir .claw-restore-new",
    "tar -C .claw-restore-new -xf -",
    "find . -mindepth 1 -maxdepth 1 ! -name .claw-restore-new -exec rm -rf {} +",
    "find .claw-restore-new -mindepth 1 -maxdepth 1 -exec mv {} . \\;",
    "rmdir .claw-restore-new",
    // The figures of what is now live, from the same container: no second one-off to count them.
    ...STATS_LINES,
  ].join("\n");

/**
 * Drill for a raw volume tar: extracted from stdin into a temp dir of a throwaway container,
 * then the same FILES/BYTES figures as statsScript. `then` runs afterwards with $D set
 * (e.g. start the server on the extracted data).
 */
export const drillScript = (then: readonly string[] = []) =>
  ["set -eu", "D=$(mktemp -d /tmp/claw-drill.XXXXXX)", 'tar -C "$D" -xf -', 'cd "$D"', ...STATS_LINES, ...then].join("\n");

export interface VolumeStats {
  files: number;
  bytes: number;
}

export function parseStats(text: string): VolumeStats {
  const files = /FILES\s+(\d+)/.exec(text);
  const bytes = /BYTES\s+(\d+)/.exec(text);
  if (!files || !bytes) throw new ClawError(`could not read volume statistics: ${text.trim().slice(0, 200)}`);
  return { files: Number(files[1]), bytes: Number(bytes[1]) };
}

/** Where archiveVolume mounts the backup directory in its one-off container. */
export const OUT_MOUNT = "/claw-out";

/** Stats on stdout, then the tar written straight into the mounted backup dir: one container start. */
export const archiveScript = (mount: string, name: string) => `${statsScript(mount)}\ntar -cf '${OUT_MOUNT}/${name}' .`;

/** The command of a one-off container (entrypoint sh) for each script. */
export const statsCommand = (mount: string) => ["-c", statsScript(mount)];
export const archiveCommand = (mount: string, name: string) => ["-c", archiveScript(mount, name)];
export const replaceCommand = (mount: string) => ["-c", replaceScript(mount)];
export const drillCommand = (then: readonly string[] = []) => ["-c", drillScript(then)];
