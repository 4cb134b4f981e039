/**
 * Milvus as one consistent unit: etcd (metadata) + MinIO (segment objects) + Milvus' own
 * volume (the WAL of unflushed writes). Milvus v2.3.3 has no GC-pause API, so Milvus is
 * stopped for the copy (the three taken at once) and started again in a `finally`; the pause
 * is recorded.
 * - etcd: `etcdctl snapshot save` inside its container, copied out with `compose cp`
 *   (no shell needed), checked with `snapshot status`.
 * - MinIO: the data volume as a raw tar, taken with MinIO stopped (restorable into MinIO).
 * - Milvus: its volume as a raw tar.
 */
import { join } from "node:path";
import {
  drillCommand as etcdDrillCommand,
  etcdKeyCount,
  restoreCommand as etcdRestoreCommand,
  etcdSnapshotSave,
  etcdSnapshotStatus,
  etcdVersion,
  parseSnapshotStatus,
  removeFile,
  snapshotStatusFromStdin,
} from "../../commands/etcd.ts";
import { MINIO_READY_CHECK } from "../../commands/minio.ts";
import { settleAll } from "../../core/async.ts";
import { InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { HOUR_MS } from "../../core/time.ts";
import type { ComposeClient } from "../../infra/compose-client.ts";
import { type ServiceModel, serviceByRole } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import type { Component, ComponentContext } from "./component.ts";
import { archiveVolume, dataMount, drillVolume, replaceVolume, statsDiffer, type VolumeStats } from "./volume.ts";

export const ETCD_FILE = "etcd.snapshot";
export const MINIO_FILE = "minio-data.tar";
export const MILVUS_FILE = "milvus-data.tar";
const SNAP_IN_CONTAINER = "/tmp/claw-etcd.snapshot";

function services(ctx: ComponentContext) {
  const s = ctx.project.stack;
  return { etcd: serviceByRole(s, "etcd"), minio: serviceByRole(s, "minio"), milvus: serviceByRole(s, "milvus") };
}

async function keyCount(compose: ComposeClient, etcd: ServiceModel): Promise<number> {
  const r = await compose.exec(etcd.name, etcdKeyCount());
  return Number((JSON.parse(r.stdout) as { count?: number }).count ?? 0);
}

export const milvus: Component = {
  name: "milvus",

  async backup(ctx) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    const paused = Date.now();
    // Milvus is the only writer of etcd and MinIO: once it is stopped, the etcd snapshot, the
    // MinIO copy and its own WAL copy are one consistent unit and are taken at the same time.
    // Both start again whatever happened (MinIO first, as Milvus needs it), probed until ready.
    const result = await compose.whileStopped(
      [minio.name, mv.name],
      async () => {
        await compose.stop([mv.name]);
        const [keys, milvusStats, minioStats] = (await settleAll<unknown>([
          compose.exec(etcd.name, etcdSnapshotSave(SNAP_IN_CONTAINER)).then(() => keyCount(compose, etcd)),
          archiveVolume(compose, mv, join(ctx.dir, MILVUS_FILE)),
          compose.stop([minio.name]).then(() => archiveVolume(compose, minio, join(ctx.dir, MINIO_FILE))),
        ])) as [number, VolumeStats, VolumeStats];
        return { keys, minioStats, milvusStats };
      },
      { stopFirst: false },
    );
    const pausedMs = Date.now() - paused;
    // The snapshot file is complete: checking and copying it out needs no pause.
    const status = parseSnapshotStatus((await compose.exec(etcd.name, etcdSnapshotStatus(SNAP_IN_CONTAINER))).stdout);
    await compose.cp(`${etcd.name}:${SNAP_IN_CONTAINER}`, join(ctx.dir, ETCD_FILE));
    // Newer etcd images have no shell or rm; a leftover in /tmp is harmless.
    await compose.exec(etcd.name, removeFile(SNAP_IN_CONTAINER), {}, { allowFailure: true }).catch(() => undefined);
    const version = (await compose.exec(etcd.name, etcdVersion())).stdout.split("\n")[0]?.trim() ?? "unknown";
    return {
      artifacts: [await artifact(ctx.dir, ETCD_FILE), await artifact(ctx.dir, MINIO_FILE), await artifact(ctx.dir, MILVUS_FILE)],
      tools: { etcdctl: version, tar: "image's own tar" },
      counts: {
        "etcd:keys": result.keys,
        "etcd:revision": status.revision,
        "etcd:hash": status.hash,
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
    // `snapshot status` needs the file inside an etcd container: a throwaway one of the same
    // image (no volumes, no network) reads it from stdin.
    const r = await compose.throwaway(
      ctx.project.effectiveName,
      etcd.name,
      snapshotStatusFromStdin(`${SNAP_IN_CONTAINER}.verify`),
      { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, ETCD_FILE), allowFailure: true },
    );
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
    const e = await compose.throwaway(
      name,
      etcd.name,
      etcdDrillCommand(),
      { entrypoint: "sh" },
      { stdinFile: join(ctx.dir, ETCD_FILE), timeoutMs: HOUR_MS, allowFailure: true },
    );
    if (e.status !== 0) throw new InvalidBackupError(`milvus: ${ETCD_FILE} does not restore into a fresh etcd: ${lastLine(e.stderr)}`);
    const keys = Number((JSON.parse(e.stdout) as { count?: number }).count ?? 0);
    if (keys !== rec.counts["etcd:keys"])
      throw new InvalidBackupError(`milvus: a fresh etcd restored from ${ETCD_FILE} holds ${keys} keys, the manifest ${rec.counts["etcd:keys"]}`);
    const m = await drillVolume(compose, name, minio, join(ctx.dir, MINIO_FILE), MINIO_READY_CHECK);
    if (m.files !== rec.counts["minio:files"] || m.bytes !== rec.counts["minio:bytes"] || !/MINIO READY/.test(m.stdout)) {
      throw new InvalidBackupError(
        `milvus: the MinIO archive gives ${m.files} files / ${m.bytes} bytes, the manifest ${rec.counts["minio:files"]} / ${rec.counts["minio:bytes"]}`,
      );
    }
    const v = await drillVolume(compose, name, mv, join(ctx.dir, MILVUS_FILE));
    if (v.files !== rec.counts["milvus:files"] || v.bytes !== rec.counts["milvus:bytes"]) {
      throw new InvalidBackupError(
        `milvus: the Milvus archive gives ${v.files} files / ${v.bytes} bytes, the manifest ${rec.counts["milvus:files"]} / ${rec.counts["milvus:bytes"]}`,
      );
    }
    return `etcd restored and started in a throwaway container with ${keys} keys; MinIO started ready on ${m.files} files / ${m.bytes} bytes; Milvus volume ${v.files} files / ${v.bytes} bytes: all as in the manifest`;
  },

  async restore(ctx, rec) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    const c = rec.counts;
    // With Milvus stopped nothing writes to etcd or MinIO: the three are replaced at the same
    // time, each checked against the backup's figures.
    await compose.whileStopped([mv.name], () =>
      settleAll([
        (async () => {
          await compose.whileStopped([etcd.name], () =>
            compose.onVolumes(etcd.name, etcdRestoreCommand(dataMount(etcd)), { entrypoint: "sh" }, { stdinFile: join(ctx.dir, ETCD_FILE) }),
          );
          const keys = await keyCount(compose, etcd);
          if (keys !== c["etcd:keys"])
            throw new RestoreMismatchError("milvus", `etcd holds ${keys} keys after restore, the backup ${c["etcd:keys"]}`);
        })(),
        compose.whileStopped([minio.name], async () => {
          const differs = statsDiffer("MinIO volume", await replaceVolume(compose, minio, join(ctx.dir, MINIO_FILE)), {
            files: c["minio:files"],
            bytes: c["minio:bytes"],
          });
          if (differs) throw new RestoreMismatchError("milvus", differs);
        }),
        (async () => {
          const differs = statsDiffer("Milvus volume", await replaceVolume(compose, mv, join(ctx.dir, MILVUS_FILE)), {
            files: c["milvus:files"],
            bytes: c["milvus:bytes"],
          });
          if (differs) throw new RestoreMismatchError("milvus", differs);
        })(),
      ]),
    );
  },
};
