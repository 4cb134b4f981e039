/**
 * manifest.json: what a backup holds, with a sha256 per artifact. A backup directory
 * without a readable manifest of our format is not a backup.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { InvalidBackupError } from "../core/errors.ts";

export const MANIFEST = "manifest.json";
export const MANIFEST_FORMAT = "claw-ops-backup";
export const MANIFEST_VERSION = 1;

export const COMPONENTS = ["postgres", "redis", "milvus", "uploads", "config"] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export interface ArtifactRecord {
  file: string;
  bytes: number;
  sha256: string;
  /** For an encrypted artifact (`<file>.age`): the plaintext it decrypts to. */
  plain?: { file: string; bytes: number; sha256: string };
}

export interface ComponentRecord {
  name: ComponentName;
  status: "ok";
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  artifacts: ArtifactRecord[];
  /** Versions of the tools that made the artifacts. */
  tools: Record<string, string>;
  /** What the restore must bring back (rows per table, keys, objects, files …). */
  counts: Record<string, number>;
  notes: string[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  id: string;
  createdAt: string;
  finishedAt: string;
  host: string;
  /** What was running: the backend image and tag (the release). */
  release: { image: string; tag: string };
  composeProject: string | null;
  /** Present when the artifacts are encrypted with age (see encryption.ts). */
  encryption?: { scheme: "age"; recipients: string[] };
  components: Partial<Record<ComponentName, ComponentRecord>>;
}

/**
 * sha256 of a file through one reused 1 MiB buffer: a read stream allocates a new buffer per
 * chunk, and V8 lets ~64 MB of dead ones pile up outside its heap before it collects them.
 */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const r = await hashFile(path, "sha256");
  return { sha256: r.hex, bytes: r.bytes };
}

export async function hashFile(path: string, algorithm: "sha256" | "md5", start = 0, end = Infinity): Promise<{ hex: string; digest: Buffer; bytes: number }> {
  const h = createHash(algorithm);
  const buf = Buffer.allocUnsafe(1 << 20);
  const fh = await open(path, "r");
  let bytes = 0;
  try {
    for (let pos = start; pos <= end; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos + 1), pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const digest = h.digest();
  return { hex: digest.toString("hex"), digest, bytes };
}

export async function artifact(dir: string, file: string): Promise<ArtifactRecord> {
  const { sha256, bytes } = await sha256File(join(dir, file));
  return { file, bytes, sha256 };
}

/** Read and shape-check a manifest. Throws InvalidBackupError with the reason. */
export function readManifest(dir: string): Manifest {
  let raw: string;
  try {
    raw = readFileSync(join(dir, MANIFEST), "utf8");
  } catch {
    throw new InvalidBackupError(`${dir} is not a backup: it has no ${MANIFEST}`, "list the backups with --list");
  }
  let m: Manifest;
  try {
    m = JSON.parse(raw) as Manifest;
  } catch {
    throw new InvalidBackupError(`${dir}/${MANIFEST} is not valid JSON (corrupt or partial backup)`);
  }
  if (m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION || typeof m.components !== "object" || m.components === null) {
    throw new InvalidBackupError(`${dir}/${MANIFEST} is not a claw-ops backup manifest of version ${MANIFEST_VERSION}`);
  }
  for (const [name, c] of Object.entries(m.components)) {
    if (!COMPONENTS.includes(name as ComponentName) || !Array.isArray(c?.artifacts)) {
      throw new InvalidBackupError(`${dir}/${MANIFEST}: component ${name} is malformed`);
    }
  }
  return m;
}

/** Re-read every artifact of the given components and compare size and sha256. */
export async function verifyArtifacts(dir: string, m: Manifest, components: readonly ComponentName[]): Promise<void> {
  for (const name of components) {
    const rec = m.components[name];
    if (!rec) throw new InvalidBackupError(`backup ${m.id} has no ${name} component`, "choose another backup or skip that component");
    await verifyComponentArtifacts(dir, m.id, rec);
  }
}

export async function verifyComponentArtifacts(dir: string, id: string, rec: ComponentRecord): Promise<void> {
  for (const a of rec.artifacts) {
    if (a.file.includes("/") || a.file.startsWith(".")) throw new InvalidBackupError(`backup ${id}: artifact name ${JSON.stringify(a.file)} is not allowed`);
    let got;
    try {
      got = await sha256File(join(dir, a.file));
    } catch {
      throw new InvalidBackupError(`backup ${id}: ${a.file} is missing`);
    }
    if (got.bytes !== a.bytes || got.sha256 !== a.sha256) {
      throw new InvalidBackupError(`backup ${id}: ${a.file} does not match its checksum (corrupt backup)`, "nothing was changed; use another backup");
    }
  }
}
