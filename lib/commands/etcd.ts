/**
 * etcd commands as argv: etcdctl snapshot save/status, key count, and the sh procedures of the
 * restore and the drill, plus the parser of `snapshot status`. Pure: no I/O, no quoting.
 */

export const etcdSnapshotSave = (path: string) => ["etcdctl", "snapshot", "save", path];
export const etcdSnapshotStatus = (path: string) => ["etcdctl", "snapshot", "status", path, "-w", "json"];
// `--limit 1` keeps the answer small while its `count` is still the total (etcdctl 3.4 has no --count-only).
export const etcdKeyCount = () => ["etcdctl", "get", "", "--prefix", "--keys-only", "--limit", "1", "-w", "json"];

/**
 * Lines for volume.ts' stageScript (run in the staging dir): the snapshot from stdin restored
 * into a fresh data dir, whose member/ becomes the staged data.
 */
export const ETCD_STAGE_LINES = [
  "cat > .claw-snapshot.db",
  "if command -v etcdutl >/dev/null 2>&1; then etcdutl snapshot restore .claw-snapshot.db --data-dir .claw-d >/dev/null;",
  "else ETCDCTL_API=3 etcdctl snapshot restore .claw-snapshot.db --data-dir .claw-d >/dev/null; fi",
  "mv .claw-d/member member",
  "rm -rf .claw-d .claw-snapshot.db",
];

/**
 * etcd drill in a throwaway container of the live image: restore the snapshot from stdin
 * into a temp dir, start a private etcd on loopback (no network anyway), count the keys.
 */
export const ETCD_DRILL_SCRIPT = [
  "set -eu",
  "D=$(mktemp -d /tmp/claw-drill.XXXXXX)",
  'cat > "$D/snap"',
  "P=http://127.0.0.1:23800; C=http://127.0.0.1:23790",
  'set -- --name claw-drill --initial-cluster "claw-drill=$P" --initial-advertise-peer-urls "$P"',
  'if command -v etcdutl >/dev/null 2>&1; then etcdutl snapshot restore "$D/snap" --data-dir "$D/data" "$@" >"$D/restore.log" 2>&1 || { cat "$D/restore.log" >&2; exit 1; };',
  'else ETCDCTL_API=3 etcdctl snapshot restore "$D/snap" --data-dir "$D/data" "$@" >"$D/restore.log" 2>&1 || { cat "$D/restore.log" >&2; exit 1; }; fi',
  'etcd --data-dir "$D/data" "$@" --listen-peer-urls "$P" --listen-client-urls "$C" --advertise-client-urls "$C" >"$D/etcd.log" 2>&1 &',
  "pid=$!",
  'i=0; until ETCDCTL_API=3 etcdctl --endpoints "$C" endpoint health >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 600 ] || { tail -5 "$D/etcd.log" >&2; exit 1; }; sleep 0.1; done',
  'ETCDCTL_API=3 etcdctl --endpoints "$C" get "" --prefix --keys-only --limit 1 -w json',
  'kill "$pid" 2>/dev/null || true',
].join("\n");

export function parseSnapshotStatus(text: string): { hash: number; revision: number; totalKey: number; totalSize: number } {
  const j = JSON.parse(text) as { hash: number; revision: number; totalKey: number; totalSize: number };
  return { hash: j.hash, revision: j.revision, totalKey: j.totalKey, totalSize: j.totalSize };
}

export const etcdVersion = () => ["etcdctl", "version"];

/** argv: remove a file inside the container (newer etcd images have no rm: callers tolerate a failure). */
export const removeFile = (path: string) => ["rm", "-f", path];

/** The command of a one-off etcd container (entrypoint sh): `snapshot status` of a snapshot read from stdin into `path`. */
export const snapshotStatusFromStdin = (path: string) => ["-c", `cat > ${path} && etcdctl snapshot status ${path} -w json`];

/** The command of a throwaway drill container (entrypoint sh): see ETCD_DRILL_SCRIPT. */
export const drillCommand = () => ["-c", ETCD_DRILL_SCRIPT];
