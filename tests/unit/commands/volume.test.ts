import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fingerprintDiffers } from "../../../lib/backup/components/volume.ts";
import { ETCD_DRILL_SCRIPT } from "../../../lib/commands/etcd.ts";
import { MINIO_READY_CHECK } from "../../../lib/commands/minio.ts";
import { DRILL_SCRIPT as PG_DRILL_SCRIPT } from "../../../lib/commands/postgres.ts";
import { DRILL_SCRIPT as REDIS_DRILL_SCRIPT } from "../../../lib/commands/redis.ts";
import {
  archiveCommand,
  archiveScript,
  armedSwapScript,
  drillCommand,
  drillScript,
  dropKeptScript,
  fingerprintScript,
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
  statsScript,
  swapScript,
} from "../../../lib/commands/volume.ts";
import { ClawError, ExitCode } from "../../../lib/core/errors.ts";
import { assertShellSyntax, expectError, fakeBin, sh, tmp, tree, write } from "../helpers.ts";

test("volume statistics are read from FILES and BYTES lines; anything else is a failed run (exit 1), not a precondition", () => {
  assert.deepEqual(parseStats("FILES 12\nBYTES 34567\n"), { files: 12, bytes: 34567 });
  assert.deepEqual(parseStats("noise\nFILES  0\nBYTES\t0"), { files: 0, bytes: 0 });
  expectError(ClawError, ExitCode.failed, () => parseStats("FILES 3\n"));
  assert.throws(() => parseStats("sh: find: not found"), /could not read volume statistics: sh: find: not found/);
});

test("the volume scripts parse as sh", () => {
  assertShellSyntax(statsScript("/data"));
  for (const script of [
    fingerprintScript("/data"),
    keptFingerprintScript("/data", T),
    recoverScript("/data"),
    stageScript("/data", T),
    stageFromKeptScript("/data", "20261130-100000", T),
    swapScript("/data", T, true),
    swapScript("/data", T, false),
    listKeptScript("/data"),
    dropKeptScript("/data", [T]),
    armedSwapScript("/data", T, true),
  ])
    assertShellSyntax(script);
  assertShellSyntax(drillScript(MINIO_READY_CHECK));
  assertShellSyntax(archiveScript("/data", "minio-data.tar"));
});

test("the archive script prints the stats and writes the tar into the output mount", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, "sub/b", "xy");
  const out = tmp("out");
  const r = spawnSync("sh", ["-c", archiveScript(vol, "v.tar").replaceAll(OUT_MOUNT, out)]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(parseStats(r.stdout.toString()), { files: 2, bytes: 7 });
  const listed = spawnSync("tar", ["-tf", join(out, "v.tar")], { encoding: "utf8" });
  assert.deepEqual(listed.stdout.split("\n").filter(Boolean).sort(), ["./", "./a.bin", "./sub/", "./sub/b"]);
});

test("the drill scripts parse as sh and work in a temp dir of their own, never a data path", () => {
  for (const script of [PG_DRILL_SCRIPT, REDIS_DRILL_SCRIPT, ETCD_DRILL_SCRIPT, drillScript(MINIO_READY_CHECK)]) {
    assertShellSyntax(script);
    assert.match(script, /D=\$\(mktemp -d \/tmp\/claw-drill\.XXXXXX\)/);
    assert.doesNotMatch(script, /\/var\/lib|[^D]\/(data|etcd|minio_data)\b/);
  }
});

test("the volume drill extracts a tar from stdin and reports the same figures as the stats script", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, ".minio.sys/format.json", "{}");
  const archive = spawnSync("tar", ["-C", vol, "-cf", "-", "."]);
  const r = spawnSync("sh", ["-c", drillScript(['echo "THEN $(ls -A "$D" | sort | tr "\\n" " ")"'])], { input: archive.stdout, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), parseStats(sh(statsScript(vol)).stdout));
  assert.match(r.stdout, /THEN \.minio\.sys a\.bin/);
});

test("the stats script counts regular files and their bytes, dotfiles and nested ones included", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, ".hidden", "xy");
  write(vol, "sub/deep/c", "");
  symlinkSync("a.bin", join(vol, "link"));
  const r = sh(statsScript(vol));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 7 });
});

const T = "20261201-120000";
const tarOf = (dir: string) => {
  const r = spawnSync("tar", ["-C", dir, "-cf", "-", "."]);
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
};
const liveVolume = () => {
  const vol = tmp("vol");
  write(vol, "old.txt", "old");
  write(vol, ".old-dotfile", "old");
  write(vol, "olddir/x", "old");
  return vol;
};
const newData = () => {
  const src = tmp("src");
  write(src, "same.txt", "new version");
  write(src, ".new-dotfile", "new");
  write(src, "bucket/obj/part.1", "new part");
  return src;
};

test("staging extracts a tar beside the live data, which stays as it is, and prints the staged data's fingerprint", () => {
  const vol = liveVolume();
  const r = sh(stageScript(vol, T), { input: tarOf(newData()) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    tree(vol).filter((p) => !p.startsWith(stageName(T))),
    [".old-dotfile: old", "old.txt: old", "olddir/", "olddir/x: old"],
  );
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 22 });
  assert.match(parseFingerprint(r.stdout).sum, /^[0-9a-f]{32}$/);
});

test("a swap moves the live data into the in-place snapshot and the staged data up, dotfiles included; the snapshot shows the fingerprint the live data had", () => {
  const vol = liveVolume();
  const before = parseFingerprint(sh(fingerprintScript(vol)).stdout);
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  const r = sh(swapScript(vol, T, true));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 22 });
  assert.deepEqual(
    tree(vol).filter((p) => !p.startsWith(keptName(T))),
    [".new-dotfile: new", "bucket/", "bucket/obj/", "bucket/obj/part.1: new part", "same.txt: new version"],
  );
  const kept = sh(keptFingerprintScript(vol, T)).stdout;
  assert.deepEqual(parseFingerprint(kept), before);
  // The fingerprint it was made with is recorded inside it, and is not counted as its data.
  assert.deepEqual(parseRecorded(kept), before);
  // What is live now is fingerprinted without the kept data: ours is never counted as data.
  assert.deepEqual(parseStats(sh(fingerprintScript(vol)).stdout), { files: 3, bytes: 22 });
  assert.deepEqual(parseStats(sh(statsScript(vol)).stdout), { files: 3, bytes: 22 });
  assert.deepEqual(parseKept(sh(listKeptScript(vol)).stdout), [T]);
});

test("a swap that does not keep removes what it replaced; with nothing staged it refuses (exit 4) and changes nothing", () => {
  const vol = liveVolume();
  assert.equal(sh(swapScript(vol, T, false)).status, 4);
  assert.deepEqual(tree(vol), [".old-dotfile: old", "old.txt: old", "olddir/", "olddir/x: old"]);
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  assert.equal(sh(swapScript(vol, T, false)).status, 0);
  assert.deepEqual(tree(vol), [".new-dotfile: new", "bucket/", "bucket/obj/", "bucket/obj/part.1: new part", "same.txt: new version"]);
});

test("restoring from an in-place snapshot stages a copy of it and leaves the snapshot for another undo", () => {
  const vol = liveVolume();
  assert.equal(sh(stageScript(vol, "20261130-100000"), { input: tarOf(newData()) }).status, 0);
  assert.equal(sh(swapScript(vol, "20261130-100000", true)).status, 0);
  const kept = parseFingerprint(sh(keptFingerprintScript(vol, "20261130-100000")).stdout);
  const r = sh(stageFromKeptScript(vol, "20261130-100000", T));
  assert.equal(r.status, 0, r.stderr);
  // The staged copy shows the fingerprint the snapshot recorded, and holds no copy of that record.
  assert.deepEqual(parseFingerprint(r.stdout), kept);
  assert.deepEqual(parseRecorded(r.stdout), kept);
  assert.equal(existsSync(join(vol, stageName(T), ".claw-fingerprint")), false);
  assert.equal(sh(swapScript(vol, T, true)).status, 0);
  assert.deepEqual(
    tree(vol).filter((p) => !p.startsWith(".claw-")),
    [".old-dotfile: old", "old.txt: old", "olddir/", "olddir/x: old"],
  );
  assert.deepEqual(parseFingerprint(sh(keptFingerprintScript(vol, "20261130-100000")).stdout), kept);
  assert.deepEqual(parseKept(sh(listKeptScript(vol)).stdout), ["20261130-100000", T]);
  assert.equal(sh(stageFromKeptScript(vol, "20261101-000000", "20261201-130000")).status, 4);
  assert.equal(sh(keptFingerprintScript(vol, "20261101-000000")).status, 4);
  assert.equal(sh(dropKeptScript(vol, ["20261130-100000", T])).status, 0);
  assert.deepEqual(parseKept(sh(listKeptScript(vol)).stdout), []);
});

test("a changed in-place snapshot no longer shows the fingerprint it recorded", () => {
  const vol = liveVolume();
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  assert.equal(sh(swapScript(vol, T, true)).status, 0);
  write(vol, `${keptName(T)}/old.txt`, "changed!");
  const r = sh(keptFingerprintScript(vol, T)).stdout;
  assert.notDeepEqual(parseFingerprint(r), parseRecorded(r));
});

test("a damaged tar or one that holds an entry named like ours leaves the live data alone", () => {
  const vol = liveVolume();
  assert.notEqual(sh(stageScript(vol, T), { input: "this is not a tar archive" }).status, 0);
  const crafted = tmp("crafted");
  write(crafted, ".claw-kept-20200101-000000/x", "sneaky");
  assert.equal(sh(stageScript(vol, T), { input: tarOf(crafted) }).status, 5);
  assert.equal(sh(recoverScript(vol)).status, 0);
  assert.deepEqual(tree(vol), [".old-dotfile: old", "old.txt: old", "olddir/", "olddir/x: old"]);
});

test("recovery after a killed swap: a half move aside is moved back, a half move up is finished, a lone staging is removed", () => {
  // Killed while moving the live data aside.
  const a = liveVolume();
  write(a, `${keptName(T)}.partial/moved.txt`, "live");
  write(a, `${keptName(T)}.partial/.claw-fingerprint`, "FILES 1");
  write(a, `${stageName(T)}/new.txt`, "new");
  let r = sh(recoverScript(a));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(a), [".old-dotfile: old", "moved.txt: live", "old.txt: old", "olddir/", "olddir/x: old"]);
  // Killed while moving the staged data up: the live data is all in the snapshot.
  const b = tmp("vol");
  write(b, `${keptName(T)}/old.txt`, "old");
  write(b, "new1.txt", "new");
  write(b, `${stageName(T)}/new2.txt`, "new");
  r = sh(recoverScript(b));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    tree(b).filter((p) => !p.startsWith(keptName(T))),
    ["new1.txt: new", "new2.txt: new"],
  );
  assert.match(r.stdout, /RECOVERED finished/);
});

test("a snapshot tag is the only thing of ours in a script, and it must look like a snapshot id", () => {
  assert.throws(() => keptName("x'; rm -rf /; '"), /not a snapshot tag/);
  assert.throws(() => stageScript("/data", "../../etc"), /not a snapshot tag/);
  assert.deepEqual(parseKept("KEPT 20261201-120000\nKEPT bogus\nKEPT 20261201-120001\n"), ["20261201-120000", "20261201-120001"]);
});

test("the archive leaves out our own staging and in-place snapshots", () => {
  const vol = tmp("vol");
  write(vol, "a.bin", "12345");
  write(vol, `${keptName(T)}/old`, "old data");
  write(vol, `${stageName(T)}/new`, "new");
  const out = tmp("out");
  const r = spawnSync("sh", ["-c", archiveScript(vol, "v.tar").replaceAll(OUT_MOUNT, out)]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(parseStats(r.stdout.toString()), { files: 1, bytes: 5 });
  const listed = spawnSync("tar", ["-tf", join(out, "v.tar")], { encoding: "utf8" });
  assert.deepEqual(listed.stdout.split("\n").filter(Boolean).sort(), ["./", "./a.bin"]);
});

test("the stats, archive and drill commands are their scripts for an sh entrypoint", () => {
  assert.deepEqual(archiveCommand("/minio_data", "minio-data.tar"), ["-c", archiveScript("/minio_data", "minio-data.tar")]);
  assert.deepEqual(shCommand("echo hi"), ["-c", "echo hi"]);
  assert.deepEqual(drillCommand(MINIO_READY_CHECK), ["-c", drillScript(MINIO_READY_CHECK)]);
  assert.deepEqual(drillCommand(), ["-c", drillScript([])]);
});

test("the archive script is the stats script followed by one tar of the mount into the output mount", () => {
  assert.equal(
    archiveScript("/minio_data", "minio-data.tar"),
    `${statsScript("/minio_data")}\ntar --exclude='./.claw-*' -cf '/claw-out/minio-data.tar' .`,
  );
  assert.equal(OUT_MOUNT, "/claw-out");
});

test("an armed swap waits for its gate: stop leaves everything as it is, go swaps", () => {
  const vol = liveVolume();
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  const gate = tmp("gate");
  write(gate, "stop", "");
  assert.equal(sh(armedSwapScript(vol, T, true).replaceAll(GATE_MOUNT, gate)).status, 0);
  assert.ok(tree(vol).includes("old.txt: old"));
  const go = tmp("gate");
  write(go, "go", "");
  const r = sh(armedSwapScript(vol, T, true).replaceAll(GATE_MOUNT, go));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 22 });
  assert.ok(tree(vol).includes("same.txt: new version"));
});

test("a swap that cannot move every live entry aside moves them all back and fails: nothing live is overwritten", () => {
  const vol = liveVolume();
  write(vol, "stuck.txt", "old and stuck");
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  write(join(vol, stageName(T)), "stuck.txt", "new");
  const mvBin = fakeBin("mv", 'case "$1" in *stuck*) exit 1;; esac; exec /bin/mv "$@"');
  const r = sh(swapScript(vol, T, true), { path: mvBin });
  assert.equal(r.status, 6, r.stderr);
  assert.deepEqual(
    tree(vol).filter((p) => !p.startsWith(".claw-")),
    [".old-dotfile: old", "old.txt: old", "olddir/", "olddir/x: old", "stuck.txt: old and stuck"],
  );
  assert.ok(!tree(vol).some((p) => p.startsWith(`${keptName(T)}`)));
});

test("a swap refuses to start over a move aside a killed run left behind (its live data is in there)", () => {
  const vol = liveVolume();
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  write(vol, `${keptName(T)}.partial/was-live.txt`, "live");
  assert.notEqual(sh(swapScript(vol, T, true)).status, 0);
  assert.ok(tree(vol).includes(`${keptName(T)}.partial/was-live.txt: live`));
});

test("what recovery would do is read first: a half move needs the service stopped, a lone staging does not", () => {
  const vol = liveVolume();
  assert.deepEqual(parseNeedsRecovery(sh(needsRecoveryScript(vol)).stdout), { stopped: [], staged: [] });
  write(vol, `${stageName(T)}/x`, "staged");
  assert.deepEqual(parseNeedsRecovery(sh(needsRecoveryScript(vol)).stdout), { stopped: [], staged: [stageName(T)] });
  write(vol, `${keptName(T)}/old`, "old");
  write(vol, `${keptName("20261130-100000")}.partial/y`, "live");
  assert.deepEqual(parseNeedsRecovery(sh(needsRecoveryScript(vol)).stdout), {
    stopped: [`${keptName("20261130-100000")}.partial`, stageName(T)],
    staged: [],
  });
});

test("hardening row 12: an object written into a kept snapshot inside a live volume (a MinIO client naming .claw-kept-<id> as a bucket) leaves the live figures alone and stops the undo from it (exit 5)", () => {
  const vol = liveVolume();
  assert.equal(sh(stageScript(vol, T), { input: tarOf(newData()) }).status, 0);
  assert.equal(sh(swapScript(vol, T, true)).status, 0);
  const live = sh(fingerprintScript(vol)).stdout;
  // MinIO's PutObject into the bucket `.claw-kept-<id>`: an object directory with its xl.meta.
  write(vol, `${keptName(T)}/planted/xl.meta`, "object");
  assert.equal(sh(fingerprintScript(vol)).stdout, live, "the live figures never count the kept data");
  const staged = sh(stageFromKeptScript(vol, T, "20261201-130000"));
  assert.equal(staged.status, 0, staged.stderr);
  const differs = fingerprintDiffers("milvus (minio)", { now: parseFingerprint(staged.stdout), recorded: parseRecorded(staged.stdout) });
  // milvus' and redis' prepare throw this as an InvalidBackupError (exit 5) before anything live is touched.
  assert.match(differs ?? "", /the in-place snapshot holds 4 files \/ \d+ bytes, not the 3 \/ \d+ it was made with/);
});
