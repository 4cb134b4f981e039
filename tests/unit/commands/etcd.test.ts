import assert from "node:assert/strict";
import { test } from "node:test";
import {
  drillCommand,
  ETCD_DRILL_SCRIPT,
  ETCD_STAGE_LINES,
  etcdKeyCount,
  etcdSnapshotSave,
  etcdSnapshotStatus,
  etcdVersion,
  parseSnapshotStatus,
  removeFile,
  snapshotStatusFromStdin,
} from "../../../lib/commands/etcd.ts";
import { stageScript } from "../../../lib/commands/volume.ts";
import { assertShellSyntax, fakeBin, sh, tmp, tree, write } from "../helpers.ts";

test("etcdctl's JSON snapshot status is parsed to hash, revision, keys and size", () => {
  assert.deepEqual(parseSnapshotStatus('{"hash":2624514171,"revision":3,"totalKey":10,"totalSize":20480}\n'), {
    hash: 2624514171,
    revision: 3,
    totalKey: 10,
    totalSize: 20480,
  });
  assert.throws(() => parseSnapshotStatus("Error: snapshot file has wrong hash\n"), SyntaxError);
});

test("etcdctl argv: snapshot save/status and a key count that fetches one key", () => {
  assert.deepEqual(etcdKeyCount(), ["etcdctl", "get", "", "--prefix", "--keys-only", "--limit", "1", "-w", "json"]);
  assert.deepEqual(etcdSnapshotSave("/tmp/s"), ["etcdctl", "snapshot", "save", "/tmp/s"]);
  assert.deepEqual(etcdSnapshotStatus("/tmp/s"), ["etcdctl", "snapshot", "status", "/tmp/s", "-w", "json"]);
});

test("the etcd staging restores the snapshot from stdin and stages only its member/, beside the live one", () => {
  const data = tmp("etcd");
  write(data, "member/snap/db", "old data");
  // A fake etcdutl that "restores" the snapshot from stdin into --data-dir.
  const bin = fakeBin("etcdutl", 'd="$5"; mkdir -p "$d/member/snap"; cp "$3" "$d/member/snap/db"');
  const script = stageScript(data, "20261201-120000", ETCD_STAGE_LINES);
  assertShellSyntax(script);
  const r = sh(script, { input: "snapshot bytes", path: bin });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(data), [
    ".claw-restore-20261201-120000/",
    ".claw-restore-20261201-120000/member/",
    ".claw-restore-20261201-120000/member/snap/",
    ".claw-restore-20261201-120000/member/snap/db: snapshot bytes",
    "member/",
    "member/snap/",
    "member/snap/db: old data",
  ]);
  assert.match(r.stdout, /FILES 1\nBYTES 14\nSUM [0-9a-f]{32}/);
});

test("etcdctl version, and removing a file in the container with rm -f", () => {
  assert.deepEqual(etcdVersion(), ["etcdctl", "version"]);
  assert.deepEqual(removeFile("/tmp/claw-etcd.snapshot"), ["rm", "-f", "/tmp/claw-etcd.snapshot"]);
});

test("the verify, restore and drill commands are sh scripts for an sh entrypoint", () => {
  assert.deepEqual(snapshotStatusFromStdin("/tmp/claw-etcd.snapshot.verify"), [
    "-c",
    "cat > /tmp/claw-etcd.snapshot.verify && etcdctl snapshot status /tmp/claw-etcd.snapshot.verify -w json",
  ]);
  assert.deepEqual(drillCommand(), ["-c", ETCD_DRILL_SCRIPT]);
});

test("the verify command writes the snapshot from stdin to the path and asks etcdctl for the status of that file", () => {
  const path = `${tmp("etcd")}/snap`;
  const bin = fakeBin("etcdctl", 'echo "{\\"hash\\":1,\\"revision\\":2,\\"totalKey\\":3,\\"totalSize\\":$(wc -c < "$3"),\\"args\\":\\"$*\\"}"');
  const [flag, script] = snapshotStatusFromStdin(path);
  const r = sh(script!, { input: "12345", path: bin });
  assert.equal(flag, "-c");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(parseSnapshotStatus(r.stdout), { hash: 1, revision: 2, totalKey: 3, totalSize: 5 });
  assert.equal((JSON.parse(r.stdout) as { args: string }).args, `snapshot status ${path} -w json`);
  assert.deepEqual(tree(path.slice(0, -"/snap".length)), ["snap: 12345"]);
});
