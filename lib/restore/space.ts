/**
 * Free space a restore needs, checked before it is confirmed (hardening row 5): a restore
 * stages a full copy of each component beside the live data, decrypts the whole backup and
 * copies what it does not keep in place into its snapshot. A disk that fills in the middle
 * makes Postgres PANIC on its WAL while serving, or stops a swap after the live data moved aside.
 *
 * Where each part is written:
 * - the backups directory: the decrypted copy (plaintext sizes) and the snapshot of the
 *   components not kept in place (the backup's own sizes stand in for the live data's);
 * - beside the uploads directory: its staged copy (the archive's uncompressed bytes);
 * - Docker's data root (the volumes): Postgres' restored database beside the live one (the
 *   live database's size, at least the dump's), Redis' staged RDB, Milvus' staged etcd,
 *   MinIO and Milvus data.
 * Places on one file system add up.
 */
import { statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { uploadsDir, uploadsRealDir } from "../backup/components/uploads-dir.ts";
import type { ArtifactRecord, ComponentName, Manifest } from "../backup/manifest.ts";
import { backupsRoot } from "../backup/store.ts";
import { psql } from "../commands/postgres.ts";
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { dockerRootDir } from "../infra/compose-client.ts";
import type { Project } from "../project/project.ts";
import { findByRole } from "../project/stack.ts";

export type Place = "backups" | "uploads" | "docker";

/** Room left free after a restore, for what keeps running meanwhile (logs, WAL, the app's writes). */
export const HEADROOM = 1.05;

const plainBytes = (a: ArtifactRecord) => a.plain?.bytes ?? a.bytes;
const sum = (xs: readonly number[]) => xs.reduce((s, n) => s + n, 0);

/**
 * Pure: the bytes a restore of `components` from `m` writes to each place. `inPlace`: the
 * components whose snapshot is kept in place (renamed, no copy); `liveDatabaseBytes`: the
 * size of the live database (its restored copy is built beside it).
 */
export function restoreNeeds(
  m: Manifest,
  components: readonly ComponentName[],
  inPlace: readonly ComponentName[],
  liveDatabaseBytes: number,
): Record<Place, number> {
  const need: Record<Place, number> = { backups: 0, uploads: 0, docker: 0 };
  for (const c of components) {
    const rec = m.components[c];
    if (!rec) continue;
    if (m.encryption) need.backups += sum(rec.artifacts.map(plainBytes));
    if (!inPlace.includes(c)) need.backups += sum(rec.artifacts.map(plainBytes));
    const of = (file: RegExp) => sum(rec.artifacts.filter((a) => file.test(a.plain?.file ?? a.file)).map(plainBytes));
    if (c === "postgres") need.docker += Math.max(liveDatabaseBytes, of(/\.dump(\.zst)?$/));
    if (c === "redis") need.docker += of(/\.rdb$/);
    if (c === "milvus") need.docker += of(/^etcd/) + (rec.counts["minio:bytes"] ?? 0) + (rec.counts["milvus:bytes"] ?? 0);
    if (c === "uploads") need.uploads += rec.counts.bytes ?? of(/./);
  }
  return need;
}

export interface FileSystemNeed {
  /** The places on it, and the path of the first (what the operator is told). */
  places: Place[];
  path: string;
  need: number;
  free: number;
}

/** Pure: the places grouped by file system (`dev`), their needs added up; only those short of room. */
export function shortOfSpace(
  places: ReadonlyArray<{ place: Place; path: string; dev: number; free: number }>,
  need: Readonly<Record<Place, number>>,
  headroom = HEADROOM,
): FileSystemNeed[] {
  const byDev = new Map<number, FileSystemNeed>();
  for (const p of places) {
    if (!need[p.place]) continue;
    const fs = byDev.get(p.dev) ?? { places: [], path: p.path, need: 0, free: p.free };
    fs.places.push(p.place);
    fs.need += need[p.place];
    byDev.set(p.dev, fs);
  }
  return [...byDev.values()].filter((fs) => fs.need * headroom > fs.free);
}

/** Where each place is on this host (a place it cannot see, e.g. a remote Docker's data root, is left out). */
async function placesOf(project: Project): Promise<Array<{ place: Place; path: string; dev: number; free: number }>> {
  const paths: Array<[Place, string | undefined]> = [["backups", backupsRoot(project.root)]];
  if (findByRole(project.stack, "backend")) {
    const real = uploadsRealDir(uploadsDir(project.root, project.stack));
    // Staged beside the directory, in its parent.
    if (real !== undefined) paths.push(["uploads", dirname(real)]);
  }
  paths.push(["docker", await dockerRootDir()]);
  const out: Array<{ place: Place; path: string; dev: number; free: number }> = [];
  for (const [place, path] of paths) {
    let at = path;
    // The backups directory may not exist yet: its parent is where it will be.
    while (at !== undefined && statSync(at, { throwIfNoEntry: false }) === undefined && dirname(at) !== at) at = dirname(at);
    if (at === undefined) continue;
    const st = statSync(at, { throwIfNoEntry: false });
    if (!st) continue;
    const fs = statfsSync(at);
    out.push({ place, path: path!, dev: st.dev, free: fs.bavail * fs.bsize });
  }
  return out;
}

/** The live database's size (0 when it cannot be read: the dump's size then stands in). */
async function liveDatabaseBytes(project: Project): Promise<number> {
  const pg = findByRole(project.stack, "postgres");
  if (!pg) return 0;
  const { user, db } = project.config.postgres;
  const r = await project.compose.exec(pg.name, psql(user, db, "SELECT pg_database_size(current_database())"), {}, { allowFailure: true });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(n) ? n : 0;
}

const mb = (n: number) => Math.ceil(n / 1e6);

/** Refuse (exit 3) a restore that would not fit, naming the file system, what it needs and what is free. */
export async function checkRestoreSpace(
  project: Project,
  m: Manifest,
  components: readonly ComponentName[],
  inPlace: readonly ComponentName[],
): Promise<void> {
  const live = components.includes("postgres") ? await liveDatabaseBytes(project) : 0;
  const short = shortOfSpace(await placesOf(project), restoreNeeds(m, components, inPlace, live));
  const first = short[0];
  if (!first) return;
  const t = msg.restore.space;
  throw new PreconditionError(
    t.notEnough({
      path: first.path,
      places: first.places.map((p) => t.place[p]).join(", "),
      needMB: mb(first.need * HEADROOM),
      freeMB: mb(first.free),
    }),
    t.notEnoughHint,
  );
}
