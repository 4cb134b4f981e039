/**
 * Raw volume copies as sh scripts for one-off containers (stats, archive through a bind
 * mount, stage beside the live data and swap it in, in-place snapshots, drill in a temp
 * dir), and the parsers of their figures. Pure.
 */
import { ClawError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { BACKUP_ID_SOURCE, isBackupId } from "../core/vocabulary/backup-id.ts";

/** A tag is a snapshot id (a backup id): the only thing of ours that goes into a script. */
const tagged = (tag: string) => {
  if (!isBackupId(tag)) throw new ClawError(msg.project.commands.volume.notSnapshotTag({ tag: JSON.stringify(tag) }));
  return tag;
};
// Our own top-level entries in a data mount, all `.claw-*`: a restore's staging and an in-place
// snapshot. The scripts below never count, archive or restore them as data.
export const stageName = (tag: string) => `.claw-restore-${tagged(tag)}`;
export const keptName = (tag: string) => `.claw-kept-${tagged(tag)}`;

/** find's start of a walk of the data, our own top-level entries left out. */
const DATA = "find . -path './.claw-*' -prune -o";
/** Prints "FILES <n>" and "BYTES <n>" for the regular files under the current dir (busybox-compatible). */
const STATS_LINES = [
  `echo "FILES $(${DATA} -type f -print | wc -l)"`,
  `echo "BYTES $(${DATA} -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}')"`,
];
/**
 * FILES and BYTES plus "SUM <md5>" of every file's size, mtime and path (sorted): the
 * fingerprint an in-place snapshot is checked against. A move keeps all three, so the data
 * moved aside shows the fingerprint it had when live.
 */
const FINGERPRINT_LINES = [
  "F=$(mktemp /tmp/claw-fp.XXXXXX)",
  `${DATA} -type f -exec stat -c '%s %Y %n' {} + | LC_ALL=C sort > "$F"`,
  'echo "FILES $(wc -l < "$F" | tr -d " ")"',
  'echo "BYTES $(awk \'{s+=$1} END {print s+0}\' "$F")"',
  'echo "SUM $(md5sum < "$F" | cut -c1-32)"',
  'rm -f "$F"',
];
export const statsScript = (mount: string) => ["set -eu", `cd '${mount}'`, ...STATS_LINES].join("\n");
/** The fingerprint of what is live in the mount (ours left out). */
export const fingerprintScript = (mount: string) => ["set -eu", `cd '${mount}'`, ...FINGERPRINT_LINES].join("\n");
/** Inside an in-place snapshot: the fingerprint its data had when it was moved aside (written by swapScript). */
export const FINGERPRINT_FILE = ".claw-fingerprint";
/** Prints the recorded fingerprint of in-place snapshot dir `k`, each line as "WAS <line>" (nothing when it has none). */
const recordedLines = (k: string) => `if [ -f '${k}/${FINGERPRINT_FILE}' ]; then sed 's/^/WAS /' '${k}/${FINGERPRINT_FILE}'; fi`;
/** The fingerprint of an in-place snapshot; exit 4 when it is not there. */
export const keptFingerprintScript = (mount: string, tag: string) =>
  [
    "set -eu",
    `cd '${mount}'`,
    `[ -d '${keptName(tag)}' ] || { echo 'KEPT MISSING'; exit 4; }`,
    recordedLines(keptName(tag)),
    `cd '${keptName(tag)}'`,
    ...FINGERPRINT_LINES,
  ].join("\n");

/**
 * Put the mount back together after a restore that was killed: a move aside that did not
 * finish (`.claw-kept-<tag>.partial`) is moved back; a swap that had moved the live data
 * aside (`.claw-kept-<tag>` beside `.claw-restore-<tag>`) is finished; any other staging is
 * removed (a prepare that died). Prints "RECOVERED <what>" for each.
 */
const RECOVER_LINES = [
  'for p in .claw-kept-*.partial; do [ -d "$p" ] || continue',
  '  rm -f "$p/.claw-fingerprint" "$p/.claw-fingerprint.tmp"',
  '  find "$p" -mindepth 1 -maxdepth 1 -exec mv {} . \\;',
  '  rmdir "$p"; echo "RECOVERED moved back $p"',
  "done",
  'for s in .claw-restore-*; do [ -e "$s" ] || continue',
  "  t=${s#.claw-restore-}",
  '  if [ -d "$s" ] && [ -d ".claw-kept-$t" ]; then find "$s" -mindepth 1 -maxdepth 1 -exec mv {} . \\;; rmdir "$s"; echo "RECOVERED finished $s"',
  '  else rm -rf "$s"; echo "RECOVERED removed $s"; fi',
  "done",
];
export const recoverScript = (mount: string) => ["set -eu", `cd '${mount}'`, ...RECOVER_LINES].join("\n");
/**
 * What recoverScript would do: "STOPPED <name>" for work that needs the service stopped (a
 * half move: data moved aside or moved up), "STAGED <name>" for a lone staging dir.
 */
export const needsRecoveryScript = (mount: string) =>
  [
    "set -eu",
    `cd '${mount}'`,
    'for p in .claw-kept-*.partial; do if [ -d "$p" ]; then echo "STOPPED $p"; fi; done',
    'for s in .claw-restore-*; do [ -e "$s" ] || continue; t=${s#.claw-restore-}; if [ -d ".claw-kept-$t" ]; then echo "STOPPED $s"; else echo "STAGED $s"; fi; done',
  ].join("\n");
export function parseNeedsRecovery(text: string): { stopped: string[]; staged: string[] } {
  const of = (k: string) => [...text.matchAll(new RegExp(`^${k} (\\S+)$`, "gm"))].map((m) => m[1]!);
  return { stopped: of("STOPPED"), staged: of("STAGED") };
}

/** After staging: refuse data that names an entry like ours (a crafted archive), exit 5. */
const REFUSE_OURS =
  'for e in .claw-*; do if [ -e "$e" ] || [ -L "$e" ]; then echo \'the data holds an entry named like a claw-ops working directory (.claw-*)\' >&2; exit 5; fi; done';

/**
 * Restore beside the live data (the service may be running): recover, then `produce` the
 * data inside `.claw-restore-<tag>` (its working dir; default: extract the tar on stdin);
 * its fingerprint.
 */
export const stageScript = (mount: string, tag: string, produce: readonly string[] = ["tar -xf -"]) =>
  [
    "set -eu",
    `cd '${mount}'`,
    ...RECOVER_LINES,
    `mkdir '${stageName(tag)}'`,
    `cd '${stageName(tag)}'`,
    ...produce,
    REFUSE_OURS,
    ...FINGERPRINT_LINES,
  ].join("\n");

/** Restore from an in-place snapshot: its copy (cp -a keeps modes, owners, mtimes) staged as above; exit 4 if it is gone. */
export const stageFromKeptScript = (mount: string, from: string, tag: string) =>
  [
    "set -eu",
    `cd '${mount}'`,
    ...RECOVER_LINES,
    `[ -d '${keptName(from)}' ] || { echo 'the in-place snapshot ${keptName(from)} is not in the volume' >&2; exit 4; }`,
    `mkdir '${stageName(tag)}'`,
    recordedLines(keptName(from)),
    `cp -a '${keptName(from)}/.' '${stageName(tag)}/'`,
    `rm -f '${stageName(tag)}/${FINGERPRINT_FILE}'`,
    `cd '${stageName(tag)}'`,
    ...FINGERPRINT_LINES,
  ].join("\n");

/**
 * With the service stopped: the live data moved aside into `.claw-kept-<tag>` (renames on
 * one file system), the staged data moved up. `keep`: the moved-aside data stays as the
 * in-place snapshot; otherwise it is removed. Prints the stats of what is live afterwards.
 * Killed anywhere, recoverScript puts it back or finishes it.
 */
export const swapScript = (mount: string, tag: string, keep: boolean) =>
  [
    "set -eu",
    `cd '${mount}'`,
    `[ -d '${stageName(tag)}' ] || { echo 'nothing staged for this restore' >&2; exit 4; }`,
    // A .partial left by a killed swap holds live data: recoverScript must put it back first (mkdir refuses).
    `mkdir '${keptName(tag)}.partial'`,
    `find . -mindepth 1 -maxdepth 1 ! -name '.claw-*' -exec mv {} '${keptName(tag)}.partial/' \\;`,
    // find does not fail when an mv does: whatever is still here was not moved, so all of it goes back.
    `if [ -n "$(find . -mindepth 1 -maxdepth 1 ! -name '.claw-*' | head -n 1)" ]; then find '${keptName(tag)}.partial' -mindepth 1 -maxdepth 1 -exec mv {} . \\;; rmdir '${keptName(tag)}.partial'; echo 'could not move the live data aside; it is as it was' >&2; exit 6; fi`,
    // What verify checks the snapshot against: the fingerprint of what was moved aside (moves keep it).
    ...(keep
      ? [
          `(cd '${keptName(tag)}.partial' && ${FINGERPRINT_LINES.join(" && ")}) > '${keptName(tag)}.partial/${FINGERPRINT_FILE}.tmp'`,
          `mv '${keptName(tag)}.partial/${FINGERPRINT_FILE}.tmp' '${keptName(tag)}.partial/${FINGERPRINT_FILE}'`,
        ]
      : []),
    `mv '${keptName(tag)}.partial' '${keptName(tag)}'`,
    `find '${stageName(tag)}' -mindepth 1 -maxdepth 1 -exec mv {} . \\;`,
    `rmdir '${stageName(tag)}'`,
    ...(keep ? [] : [`rm -rf '${keptName(tag)}'`]),
    ...STATS_LINES,
  ].join("\n");

/** Where an armed swap's container sees its gate (a private host dir, bind-mounted). */
export const GATE_MOUNT = "/claw-gate";
/**
 * A swap armed ahead of time: the container is started (and its mounts set up) while the
 * service is still being stopped, and waits for `go` in the gate (`stop`: exit, nothing
 * done). Gives up after an hour without either.
 */
export const armedSwapScript = (mount: string, tag: string, keep: boolean) =>
  [
    "i=0",
    `until [ -e '${GATE_MOUNT}/go' ] || [ -e '${GATE_MOUNT}/stop' ]; do i=$((i+1)); [ $i -lt 72000 ] || { echo 'the swap was never released' >&2; exit 9; }; sleep 0.05; done`,
    `[ -e '${GATE_MOUNT}/go' ] || exit 0`,
    swapScript(mount, tag, keep),
  ].join("\n");

/** The in-place snapshots in the mount, one tag per "KEPT <tag>" line. */
export const listKeptScript = (mount: string) =>
  ["set -eu", `cd '${mount}'`, 'for k in .claw-kept-*; do [ -d "$k" ] || continue; echo "KEPT ${k#.claw-kept-}"; done'].join("\n");
/** Remove in-place snapshots. */
export const dropKeptScript = (mount: string, tags: readonly string[]) =>
  ["set -eu", `cd '${mount}'`, ...tags.map((t) => `rm -rf '${keptName(t)}'`)].join("\n");

export function parseKept(text: string): string[] {
  return [...text.matchAll(new RegExp(`^KEPT (${BACKUP_ID_SOURCE})$`, "gm"))].map((m) => m[1]!);
}

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

export interface Fingerprint extends VolumeStats {
  sum: string;
}

export function parseFingerprint(text: string): Fingerprint {
  const mine = text
    .split("\n")
    .filter((l) => !l.startsWith("WAS "))
    .join("\n");
  const sum = /SUM\s+([0-9a-f]{32})/.exec(mine);
  if (!sum) throw new ClawError(msg.project.commands.volume.noFingerprint({ output: mine.trim().slice(0, 200) }));
  return { ...parseStats(mine), sum: sum[1]! };
}

/** The fingerprint an in-place snapshot recorded when it was made ("WAS " lines), or undefined. */
export function parseRecorded(text: string): Fingerprint | undefined {
  const was = text
    .split("\n")
    .filter((l) => l.startsWith("WAS "))
    .map((l) => l.slice(4))
    .join("\n");
  return /SUM\s+[0-9a-f]{32}/.test(was) ? parseFingerprint(was) : undefined;
}

export function parseStats(text: string): VolumeStats {
  const files = /FILES\s+(\d+)/.exec(text);
  const bytes = /BYTES\s+(\d+)/.exec(text);
  if (!files || !bytes) throw new ClawError(msg.project.commands.volume.noStats({ output: text.trim().slice(0, 200) }));
  return { files: Number(files[1]), bytes: Number(bytes[1]) };
}

/** Where archiveVolume mounts the backup directory in its one-off container. */
export const OUT_MOUNT = "/claw-out";

/** Stats on stdout, then the tar written straight into the mounted backup dir: one container start. */
export const archiveScript = (mount: string, name: string) => `${statsScript(mount)}\ntar --exclude='./.claw-*' -cf '${OUT_MOUNT}/${name}' .`;

/** The command of a one-off container (entrypoint sh) for each script. */
export const archiveCommand = (mount: string, name: string) => ["-c", archiveScript(mount, name)];
/** `sh -c <script>` for a one-off container (entrypoint sh) or an exec. */
export const shCommand = (script: string) => ["-c", script];
export const drillCommand = (then: readonly string[] = []) => ["-c", drillScript(then)];
