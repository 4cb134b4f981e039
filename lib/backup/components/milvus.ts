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
  ETCD_STAGE_LINES,
  drillCommand as etcdDrillCommand,
  etcdKeyCount,
  etcdSnapshotSave,
  etcdSnapshotStatus,
  etcdVersion,
  parseSnapshotStatus,
  removeFile,
  snapshotStatusFromStdin,
} from "../../commands/etcd.ts";
import { MINIO_READY_CHECK } from "../../commands/minio.ts";
import { keptName } from "../../commands/volume.ts";
import { settleAll } from "../../core/async.ts";
import { InvalidBackupError, RestoreMismatchError } from "../../core/errors.ts";
import { lastLine } from "../../core/exec.ts";
import { msg } from "../../core/i18n/index.ts";
import { HOUR_MS } from "../../core/time.ts";
import type { ComposeClient } from "../../infra/compose-client.ts";
import { type ServiceModel, serviceByRole } from "../../project/stack.ts";
import { artifact, type ComponentRecord } from "../manifest.ts";
import { type Component, type ComponentContext, type Frozen, keptResult, type PreparedRestore, swapping } from "./component.ts";
import {
  archiveVolume,
  armSwap,
  drillVolume,
  fingerprintDiffers,
  keptFingerprint,
  keptInVolumes,
  recoverVolume,
  recoverVolumes,
  stageVolume,
  statsDiffer,
  unstageVolume,
  type VolumeStats,
} from "./volume.ts";

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

/** A prepared Milvus restore: the services whose volume its in-place source never moved aside (nothing to swap). */
interface PreparedMilvus extends PreparedRestore {
  unchanged: ReadonlySet<string>;
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
    if (rec.kept) {
      await verifyKept(ctx, rec, rec.kept.tag);
      return;
    }
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
      throw new InvalidBackupError(msg.components.milvus.notSnapshot({ file: ETCD_FILE }));
    }
    if (status.hash !== rec.counts["etcd:hash"] || status.revision !== rec.counts["etcd:revision"]) {
      throw new InvalidBackupError(msg.components.milvus.snapshotDiffers({ file: ETCD_FILE }));
    }
  },

  async drill(ctx, rec) {
    if (rec.kept) return verifyKept(ctx, rec, rec.kept.tag);
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
    if (e.status !== 0) throw new InvalidBackupError(msg.components.milvus.etcdDrillFailed({ file: ETCD_FILE, reason: lastLine(e.stderr) }));
    const keys = Number((JSON.parse(e.stdout) as { count?: number }).count ?? 0);
    if (keys !== rec.counts["etcd:keys"])
      throw new InvalidBackupError(msg.components.milvus.etcdKeysDiffer({ file: ETCD_FILE, keys, want: rec.counts["etcd:keys"] }));
    const m = await drillVolume(compose, name, minio, join(ctx.dir, MINIO_FILE), MINIO_READY_CHECK);
    expectArchive("MinIO", m, rec, "minio", /MINIO READY/.test(m.stdout));
    const v = await drillVolume(compose, name, mv, join(ctx.dir, MILVUS_FILE));
    expectArchive("Milvus", v, rec, "milvus");
    return msg.components.milvus.drilled({ keys, minioFiles: m.files, minioBytes: m.bytes, milvusFiles: v.files, milvusBytes: v.bytes });
  },

  async prepare(ctx, rec, tag) {
    const { etcd, minio, milvus: mv } = services(ctx);
    const compose = ctx.project.compose;
    const c = rec.counts;
    const unchanged = new Set<string>();
    const discard = async () => {
      await settleAll([etcd, minio, mv].map((s) => unstageVolume(compose, s, tag))).catch(() => undefined);
    };
    // The three staged beside their live data at the same time, Milvus still serving.
    const stage = async (svc: ServiceModel, key: "etcd" | "minio" | "milvus", file: string, produce?: readonly string[]) => {
      if (rec.kept) {
        // A volume the snapshot's own restore never moved aside (it died part-way): its live data is that state.
        if (!rec.kept.moved && (await keptFingerprint(compose, svc, rec.kept.tag)) === undefined) {
          unchanged.add(svc.name);
          return;
        }
        const staged = await stageVolume(compose, svc, tag, { kept: rec.kept.tag });
        const differs = fingerprintDiffers(`milvus (${key})`, { now: staged, recorded: staged.recorded });
        if (differs) throw new InvalidBackupError(differs);
        return;
      }
      const got = await stageVolume(compose, svc, tag, { file: join(ctx.dir, file) }, produce);
      if (key === "etcd") return;
      const differs = statsDiffer(msg.components.milvus.volume({ which: key === "minio" ? "MinIO" : "Milvus" }), got, {
        files: c[`${key}:files`],
        bytes: c[`${key}:bytes`],
      });
      if (differs) throw new RestoreMismatchError("milvus", differs);
    };
    try {
      await settleAll([stage(etcd, "etcd", ETCD_FILE, ETCD_STAGE_LINES), stage(minio, "minio", MINIO_FILE), stage(mv, "milvus", MILVUS_FILE)]);
    } catch (e) {
      await discard();
      throw e;
    }
    const ready: PreparedMilvus = { ref: tag, tag, discard, unchanged };
    return ready;
  },

  ...swapping((ctx, rec, tag) => milvus.prepare!(ctx, rec, tag), swapIn),

  // Only when none of the three volumes holds it: a part that was moved is restored from.
  async unmoved(ctx, rec) {
    if (!rec.kept || rec.kept.moved) return false;
    const { etcd, minio, milvus: mv } = services(ctx);
    const got = await settleAll([etcd, minio, mv].map((s) => keptFingerprint(ctx.project.compose, s, rec.kept!.tag)));
    return got.every((g) => g === undefined);
  },

  recover: (ctx) => recoverVolumes(ctx, MILVUS_ROLES),
  kept: (ctx) => keptInVolumes(ctx, MILVUS_ROLES),
};

/** Milvus' services with a data volume, in the order their recovery and sweep report them. */
const MILVUS_ROLES = ["etcd", "minio", "milvus"] as const;

/**
 * Milvus stopped (nothing else writes to etcd or MinIO), then etcd and MinIO; the three
 * staged volumes swapped in at the same time by renames. `keep`: what they replace stays in
 * each volume as the in-place snapshot, etcd's key count and each volume's fingerprint
 * recorded. Started again etcd and MinIO first, each checked against the backup's figures.
 */
async function swapIn(ctx: ComponentContext, rec: ComponentRecord, ready: PreparedRestore, keep: boolean): Promise<Frozen> {
  const { etcd, minio, milvus: mv } = services(ctx);
  const compose = ctx.project.compose;
  const all = [etcd, minio, mv];
  const start = () => compose.startReady([etcd.name, minio.name, mv.name]);
  const skip = (ready as Partial<PreparedMilvus>).unchanged;
  const swapping = all.filter((s) => !skip?.has(s.name));
  const armed = swapping.map((s) => armSwap(compose, s, ready.tag, keep, ctx.project.root));
  const cancel = () => settleAll(armed.map((a) => a.cancel()));
  let counts: Record<string, number> = {};
  try {
    await compose.stop([mv.name]);
    // Each volume's fingerprint is recorded inside what the swap moves aside (swapScript).
    if (keep) counts = { "etcd:keys": await keyCount(compose, etcd) };
    await compose.stop([etcd.name, minio.name]);
  } catch (e) {
    await cancel();
    await start();
    throw e;
  }
  let moved = false;
  return {
    get moved() {
      return moved;
    },
    record: keptResult(
      ready.tag,
      counts,
      {},
      `etcd, MinIO and Milvus volumes' content kept in place as ${keptName(ready.tag)} in each (a snapshot to undo a restore, not a copy elsewhere)`,
    ),
    thaw: async () => {
      await cancel();
      await start();
    },
    swap: async () => {
      const c = rec.counts;
      let stats: VolumeStats[];
      try {
        stats = await settleAll(armed.map((a) => a.go())).catch(async (e: unknown) => {
          // Put back together whatever a failed swap left half-moved before the services read it.
          await settleAll(all.map((s) => recoverVolume(compose, s)));
          throw e;
        });
        // Only all three make the snapshot whole: with a volume left as it was, its absence there is meaningful.
        moved = keep && swapping.length === all.length;
      } finally {
        await start();
      }
      const keys = await keyCount(compose, etcd);
      if (keys !== c["etcd:keys"]) throw new RestoreMismatchError("milvus", msg.components.milvus.etcdKeysAfter({ keys, want: c["etcd:keys"] }));
      // From an in-place snapshot the staged copy was checked against its fingerprint in prepare.
      if (rec.kept) return;
      const differs =
        statsDiffer(msg.components.milvus.volume({ which: "MinIO" }), stats[1]!, { files: c["minio:files"], bytes: c["minio:bytes"] }) ??
        statsDiffer(msg.components.milvus.volume({ which: "Milvus" }), stats[2]!, { files: c["milvus:files"], bytes: c["milvus:bytes"] });
      if (differs) throw new RestoreMismatchError("milvus", differs);
    },
  };
}

/** An in-place snapshot's check: each volume's kept files, as recorded. */
async function verifyKept(ctx: ComponentContext, rec: ComponentRecord, tag: string): Promise<string> {
  const { etcd, minio, milvus: mv } = services(ctx);
  const compose = ctx.project.compose;
  const keys = ["etcd", "minio", "milvus"] as const;
  const got = await settleAll([etcd, minio, mv].map((s) => keptFingerprint(compose, s, tag)));
  if (got.every((g) => g === undefined) && !rec.kept?.moved) return msg.components.common.unmovedAt({ what: keptName(tag) });
  for (const [i, k] of keys.entries()) {
    if (got[i] === undefined && !rec.kept?.moved) continue;
    const differs = fingerprintDiffers(`milvus (${k})`, got[i]);
    if (differs) throw new InvalidBackupError(differs, msg.components.common.useAnotherBackup);
  }
  const parts = keys.map((k, i) => {
    const g = got[i];
    return g
      ? msg.components.milvus.keptPart({ part: k, files: g.now.files, bytes: g.now.bytes })
      : msg.components.milvus.keptPartUnmoved({ part: k });
  });
  return msg.components.milvus.keptOk({ kept: keptName(tag), parts: parts.join(msg.components.common.listSep), keys: rec.counts["etcd:keys"] });
}

/** A drilled archive holds the files and bytes the manifest counted (and, for MinIO, its server came up on them). */
function expectArchive(which: string, got: { files: number; bytes: number }, rec: ComponentRecord, key: "minio" | "milvus", ready = true): void {
  const wantFiles = rec.counts[`${key}:files`];
  const wantBytes = rec.counts[`${key}:bytes`];
  if (got.files !== wantFiles || got.bytes !== wantBytes || !ready)
    throw new InvalidBackupError(msg.components.milvus.archiveDiffers({ which, files: got.files, bytes: got.bytes, wantFiles, wantBytes }));
}
