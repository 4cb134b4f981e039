/** MinIO checks as sh lines, for the volume drill. Pure. */

/** After a MinIO volume drill has extracted the data to $D: MinIO must start on it and report ready. */
export const MINIO_READY_CHECK = [
  'minio server "$D" --address 127.0.0.1:19000 >"$D.log" 2>&1 &',
  "pid=$!",
  'i=0; until curl -fsS http://127.0.0.1:19000/minio/health/ready >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 600 ] || { tail -5 "$D.log" >&2; exit 1; }; sleep 0.1; done',
  'echo "MINIO READY"',
  'kill "$pid" 2>/dev/null || true',
];
