/**
 * Milvus as one consistent unit: etcd (metadata) + MinIO (segment objects) + Milvus' own
 * volume (the WAL of unflushed writes). Milvus v2.3.3 has no GC-pause API, so Milvus is
 * stopped for the copy and started again in a `finally`; the pause is recorded.
 * - etcd: `etcdctl snapshot save` inside its container, copied out with `compose cp`
 *   (no shell needed), checked with `snapshot status`.
 * - MinIO: the data volume as a raw tar, taken with MinIO stopped (restorable into MinIO).
 * - Milvus: its volume as a raw tar.
 */
import { join } from "node:path";
import type { ComposeClient } from "../../infra/compose-client.ts";
import { settleAll } from "../../core/async.ts";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { serviceByRole, type ServiceModel } from "../../project/stack.ts";
import type { Component, ComponentContext } from "./component.ts";
import { artifact } from "../manifest.ts";
import { archiveVolume, dataMount, drillVolume, replaceVolume, volumeStats, type VolumeStats } from "./volume.ts";

export const ETCD_FILE = "etcd.snapshot";
export const MINIO_FILE = "minio-data.tar";
export const MILVUS_FILE = "milvus-data.tar";
const SNAP_IN_CONTAINER = "/tmp/claw-etcd.snapshot";

// ---- pure ---------------------------------------------------------------------------------
export const etcdSnapshotSave = (path: string) => ["etcdctl", "snapshot", "save", path];
export const etcdSnapshotStatus = (path: string) => ["etcdctl", "snapshot", "status", path, "-w", "json"];
// `--limit 1` keeps the answer small while its `count` is still the total (etcdctl 3.4 has no --count-only).
export const etcdKeyCount = () => ["etcdctl", "get", "", "--prefix", "--keys-only", "--limit", "1", "-w", "json"];

/** Restore a snapshot from stdin into a fresh data dir, then swap it in for member/. */
export const ETCD_RESTORE_SCRIPT = (dataDir: string) => [
  "set -eu",
  `cd '${dataDir}'`,
  "rm -rf .claw-restore-new .claw-snapshot",
  "cat > .claw-snapshot",
  "if command -v etcdutl >/dev/null 2>&1; then etcdutl snapshot restore .claw-snapshot --data-dir .claw-restore-new >/dev/null;",
  "else ETCDCTL_API=3 etcdctl snapshot restore .claw-snapshot --data-dir .claw-restore-new >/dev/null; fi",
  "rm -rf member.claw-old",
  "if [ -d member ]; then mv member member.claw-old; fi",
  "mv .claw-restore-new/member member",
  "rm -rf .claw-restore-new .claw-snapshot member.claw-old",
].join("\n");

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

/** After a MinIO volume drill has extracted the data to $D: MinIO must start on it and report ready. */
export const MINIO_READY_CHECK = [
  'minio server "$D" --address 127.0.0.1:19000 >"$D.log" 2>&1 &',
  "pid=$!",
  'i=0; until curl -fsS http://127.0.0.1:19000/minio/health/ready >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 600 ] || { tail -5 "$D.log" >&2; exit 1; }; sleep 0.1; done',
  'echo "MINIO READY"',
  'kill "$pid" 2>/dev/null || true',
];

export function parseSnapshotStatus(text: string): { hash: number; revision: number; totalKey: number; totalSize: number } {
  const j = JSON.parse(text) as { hash: number; revision: number; totalKey: number; totalSize: number };
  return { hash: j.hash, revision: j.revision, totalKey: j.totalKey, totalSize: j.totalSize };
}

// ---- the component ------------------------------------------------------------------------------
function services(ctx: ComponentContext) {
  const s = ctx.project.stack;
  return { etcd: serviceByRole(s, "etcd"), minio: serviceByRole(s, "minio"), milvus: serviceByRole(s, "milvus") };
}

async function keyCount(compose: ComposeClient, etcd: ServiceModel): Promise<number> {
  const r = await compose.exec(etcd.name, etcdKeyCount());
  return Number((JSON.parse(r.stdout) as { count?: number }).count ?? 0);
}

/** Stop `svc`, run fn, and start `svc` again whatever happened. */
async function whileStopped<T>(compose: ComposeClient, svc: ServiceModel, fn: () => Promise<T>): Promise<T> {
  await compose.stop([svc.name]);
  try {
    return await fn();
  } finally {
    await compose.up({ services: [svc.name], wait: true, noDeps: true });
  }
}

export const milvus: Component = {
  name: "milvus",

  async backup(ctx) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    const paused = Date.now();
    // Milvus first (it writes to etcd and MinIO), MinIO once etcd is saved; both start again
    // in a finally, whatever happened, and are probed until ready.
    await compose.stop([mv.name]);
    let result;
    try {
      await compose.exec(etcd.name, etcdSnapshotSave(SNAP_IN_CONTAINER));
      const status = parseSnapshotStatus((await compose.exec(etcd.name, etcdSnapshotStatus(SNAP_IN_CONTAINER))).stdout);
      const keys = await keyCount(compose, etcd);
      await compose.cp(`${etcd.name}:${SNAP_IN_CONTAINER}`, join(ctx.dir, ETCD_FILE));
      // Newer etcd images have no shell or rm; a leftover in /tmp is harmless.
      await compose.exec(etcd.name, ["rm", "-f", SNAP_IN_CONTAINER], {}, { allowFailure: true }).catch(() => undefined);
      await compose.stop([minio.name]);
      const [minioStats, milvusStats] = (await settleAll([
        archiveVolume(compose, minio, join(ctx.dir, MINIO_FILE)),
        archiveVolume(compose, mv, join(ctx.dir, MILVUS_FILE)),
      ])) as [VolumeStats, VolumeStats];
      result = { status, keys, minioStats, milvusStats };
    } finally {
      await compose.up({ services: [minio.name, mv.name], wait: true, noDeps: true });
    }
    const pausedMs = Date.now() - paused;
    const version = (await compose.exec(etcd.name, ["etcdctl", "version"])).stdout.split("\n")[0]?.trim() ?? "unknown";
    return {
      artifacts: [await artifact(ctx.dir, ETCD_FILE), await artifact(ctx.dir, MINIO_FILE), await artifact(ctx.dir, MILVUS_FILE)],
      tools: { etcdctl: version, tar: "image's own tar" },
      counts: {
        "etcd:keys": result.keys,
        "etcd:revision": result.status.revision,
        "etcd:hash": result.status.hash,
        "minio:files": result.minioStats.files,
        "minio:bytes": result.minioStats.bytes,
        "milvus:files": result.milvusStats.files,
        "milvus:bytes": result.milvusStats.bytes,
        "milvus:pausedMs": pausedMs,
      },
      notes: [`${mv.name} was stopped for ${(pausedMs / 1000).toFixed(1)} s so etcd, MinIO and its WAL are one consistent unit`],
    };
  },

  async verify(ctx, rec) {
    const { etcd } = services(ctx);
    const compose = ctx.project.compose;
    // `snapshot status` needs the file inside an etcd container: a one-off one reads it from stdin.
    const r = await compose.runOnce(etcd.name, ["-c", `cat > ${SNAP_IN_CONTAINER}.verify && etcdctl snapshot status ${SNAP_IN_CONTAINER}.verify -w json`],
      { entrypoint: "sh", noDeps: true }, { stdinFile: join(ctx.dir, ETCD_FILE), allowFailure: true });
    let status;
    try {
      status = parseSnapshotStatus(r.stdout);
    } catch {
      throw new InvalidBackupError(`milvus: ${ETCD_FILE} is not a valid etcd snapshot`);
    }
    if (status.hash !== rec.counts["etcd:hash"] || status.revision !== rec.counts["etcd:revision"]) {
      throw new InvalidBackupError(`milvus: ${ETCD_FILE} hash or revision differs from the manifest`);
    }
  },

  async drill(ctx, rec) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    const name = ctx.project.effectiveName;
    const e = await compose.throwaway(name, etcd.name, ["-c", ETCD_DRILL_SCRIPT], { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, ETCD_FILE), timeoutMs: 3600_000, allowFailure: true });
    if (e.status !== 0) throw new InvalidBackupError(`milvus: ${ETCD_FILE} does not restore into a fresh etcd: ${lastLine(e.stderr)}`);
    const keys = Number((JSON.parse(e.stdout) as { count?: number }).count ?? 0);
    if (keys !== rec.counts["etcd:keys"]) throw new InvalidBackupError(`milvus: a fresh etcd restored from ${ETCD_FILE} holds ${keys} keys, the manifest ${rec.counts["etcd:keys"]}`);
    const m = await drillVolume(compose, name, minio, join(ctx.dir, MINIO_FILE), MINIO_READY_CHECK);
    if (m.files !== rec.counts["minio:files"] || m.bytes !== rec.counts["minio:bytes"] || !/MINIO READY/.test(m.stdout)) {
      throw new InvalidBackupError(`milvus: the MinIO archive gives ${m.files} files / ${m.bytes} bytes, the manifest ${rec.counts["minio:files"]} / ${rec.counts["minio:bytes"]}`);
    }
    const v = await drillVolume(compose, name, mv, join(ctx.dir, MILVUS_FILE));
    if (v.files !== rec.counts["milvus:files"] || v.bytes !== rec.counts["milvus:bytes"]) {
      throw new InvalidBackupError(`milvus: the Milvus archive gives ${v.files} files / ${v.bytes} bytes, the manifest ${rec.counts["milvus:files"]} / ${rec.counts["milvus:bytes"]}`);
    }
    return `etcd restored and started in a throwaway container with ${keys} keys; MinIO started ready on ${m.files} files / ${m.bytes} bytes; Milvus volume ${v.files} files / ${v.bytes} bytes: all as in the manifest`;
  },

  async restore(ctx, rec) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    await whileStopped(compose, mv, async () => {
      await whileStopped(compose, etcd, () =>
        compose.runOnce(etcd.name, ["-c", ETCD_RESTORE_SCRIPT(dataMount(etcd))], { entrypoint: "sh", noDeps: true }, { stdinFile: join(ctx.dir, ETCD_FILE) }));
      const keys = await keyCount(compose, etcd);
      if (keys !== rec.counts["etcd:keys"]) throw new ClawError(`milvus: etcd holds ${keys} keys after restore, the backup ${rec.counts["etcd:keys"]}`);
      await whileStopped(compose, minio, async () => {
        await replaceVolume(compose, minio, join(ctx.dir, MINIO_FILE));
        const s = await volumeStats(compose, minio);
        if (s.files !== rec.counts["minio:files"] || s.bytes !== rec.counts["minio:bytes"]) {
          throw new ClawError(`milvus: MinIO volume holds ${s.files} files / ${s.bytes} bytes after restore, the backup ${rec.counts["minio:files"]} / ${rec.counts["minio:bytes"]}`);
        }
      });
      await replaceVolume(compose, mv, join(ctx.dir, MILVUS_FILE));
      const s = await volumeStats(compose, mv);
      if (s.files !== rec.counts["milvus:files"] || s.bytes !== rec.counts["milvus:bytes"]) {
        throw new ClawError(`milvus: Milvus volume differs after restore (${s.files} files / ${s.bytes} bytes)`);
      }
    });
  },
};
