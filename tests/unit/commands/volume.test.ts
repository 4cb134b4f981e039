import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ETCD_DRILL_SCRIPT } from "../../../lib/commands/etcd.ts";
import { MINIO_READY_CHECK } from "../../../lib/commands/minio.ts";
import { DRILL_SCRIPT as PG_DRILL_SCRIPT } from "../../../lib/commands/postgres.ts";
import { DRILL_SCRIPT as REDIS_DRILL_SCRIPT } from "../../../lib/commands/redis.ts";
import {
  archiveCommand,
  archiveScript,
  drillCommand,
  drillScript,
  OUT_MOUNT,
  parseStats,
  replaceCommand,
  replaceScript,
  statsCommand,
  statsScript,
} from "../../../lib/commands/volume.ts";
import { ClawError, ExitCode } from "../../../lib/core/errors.ts";
import { assertShellSyntax, expectError, sh, tmp, tree, write } from "../helpers.ts";

test("volume statistics are read from FILES and BYTES lines; anything else is a failed run (exit 1), not a precondition", () => {
  assert.deepEqual(parseStats("FILES 12\nBYTES 34567\n"), { files: 12, bytes: 34567 });
  assert.deepEqual(parseStats("noise\nFILES  0\nBYTES\t0"), { files: 0, bytes: 0 });
  expectError(ClawError, ExitCode.failed, () => parseStats("FILES 3\n"));
  assert.throws(() => parseStats("sh: find: not found"), /could not read volume statistics: sh: find: not found/);
});

test("the volume scripts parse as sh", () => {
  assertShellSyntax(statsScript("/data"));
  assertShellSyntax(replaceScript("/data"));
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

test("the replace script swaps a volume's whole content for a tar from stdin, dotfiles included", () => {
  const vol = tmp("vol");
  write(vol, "old.txt", "old");
  write(vol, ".old-dotfile", "old");
  write(vol, "olddir/x", "old");
  write(vol, "same.txt", "old version");
  const src = tmp("src");
  write(src, "same.txt", "new version");
  write(src, ".new-dotfile", "new");
  write(src, "bucket/obj/part.1", "new part");
  const archive = spawnSync("tar", ["-C", src, "-cf", "-", "."]);
  assert.equal(archive.status, 0, String(archive.stderr));
  const r = sh(replaceScript(vol), { input: archive.stdout });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(vol), [".new-dotfile: new", "bucket/", "bucket/obj/", "bucket/obj/part.1: new part", "same.txt: new version"]);
  assert.equal(existsSync(join(vol, ".claw-restore-new")), false);
  assert.deepEqual(parseStats(sh(statsScript(vol)).stdout), { files: 3, bytes: 22 });
  // The same container reports what is live afterwards: no second one-off to count it.
  assert.deepEqual(parseStats(r.stdout), { files: 3, bytes: 22 });
});

test("the replace script leaves the live content alone when the tar is damaged", () => {
  const vol = tmp("vol");
  write(vol, "keep.txt", "live");
  const r = sh(replaceScript(vol), { input: "this is not a tar archive" });
  assert.notEqual(r.status, 0);
  assert.deepEqual(
    tree(vol).filter((p) => !p.startsWith(".claw-restore-new")),
    ["keep.txt: live"],
  );
});

test("the stats, archive, replace and drill commands are their scripts for an sh entrypoint", () => {
  assert.deepEqual(statsCommand("/minio_data"), ["-c", statsScript("/minio_data")]);
  assert.deepEqual(archiveCommand("/minio_data", "minio-data.tar"), ["-c", archiveScript("/minio_data", "minio-data.tar")]);
  assert.deepEqual(replaceCommand("/minio_data"), ["-c", replaceScript("/minio_data")]);
  assert.deepEqual(drillCommand(MINIO_READY_CHECK), ["-c", drillScript(MINIO_READY_CHECK)]);
  assert.deepEqual(drillCommand(), ["-c", drillScript([])]);
});

test("the archive script is the stats script followed by one tar of the mount into the output mount", () => {
  assert.equal(archiveScript("/minio_data", "minio-data.tar"), `${statsScript("/minio_data")}\ntar -cf '/claw-out/minio-data.tar' .`);
  assert.equal(OUT_MOUNT, "/claw-out");
});
