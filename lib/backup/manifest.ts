/**
 * manifest.json: what a backup holds, with a sha256 per artifact. A backup directory
 * without a readable manifest of our format is not a backup.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { InvalidBackupError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { isBackupId } from "../core/vocabulary/backup-id.ts";
import { COMPONENTS, type ComponentName } from "../core/vocabulary/components.ts";

// Defined in the vocabulary (lib/core), re-exported beside the manifest that keys its records by them.
export { COMPONENTS, type ComponentName };

export const MANIFEST = "manifest.json";
export const MANIFEST_FORMAT = "claw-ops-backup";
export const MANIFEST_VERSION = 1;
/** The suffix of an artifact encrypted with age. */
export const AGE_SUFFIX = ".age";

/** The components whose pre-restore snapshot may be kept in place (see ComponentRecord.kept). */
export const KEPT_COMPONENTS: readonly ComponentName[] = ["postgres", "redis", "milvus", "uploads"];

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
  /**
   * An in-place snapshot: the data is not in files of the backup but was kept where it lived
   * (a database renamed, a volume's content moved aside), named by `tag`, which is always the
   * backup's own id. Its counts hold the fingerprint that verify checks. No artifacts.
   */
  kept?: {
    tag: string;
    /**
     * Set once the data was moved aside (the manifest is committed before, so that the undo
     * is recorded before anything is replaced). Kept data that is not there: with `moved`, it
     * is gone; without, the restore died before replacing it, and the live data is this state.
     */
    moved?: true;
  };
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

export async function hashFile(
  path: string,
  algorithm: "sha256" | "md5",
  start = 0,
  end = Infinity,
): Promise<{ hex: string; digest: Buffer; bytes: number }> {
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

/**
 * The artifacts each component's backup is made of (plaintext names; an encrypted one is
 * `<name>.age` with the plaintext in `plain`). Every pattern must be matched by exactly one
 * artifact and nothing else may be listed: a restore reads exactly these files, each checked.
 */
export const EXPECTED_ARTIFACTS: Readonly<Record<ComponentName, readonly RegExp[]>> = {
  postgres: [/^postgres-[a-z_][a-z0-9_]{0,62}\.dump(\.zst)?$/, /^postgres-globals\.sql$/],
  redis: [/^redis\.rdb$/],
  milvus: [/^etcd\.snapshot$/, /^minio-data\.tar$/, /^milvus-data\.tar$/],
  uploads: [/^uploads\.tar$/],
  config: [/^config\.tar$/],
};

/** Read and check a manifest. Throws InvalidBackupError (exit 5) naming the field that is wrong. */
export function readManifest(dir: string): Manifest {
  let raw: string;
  try {
    raw = readFileSync(join(dir, MANIFEST), "utf8");
  } catch {
    throw new InvalidBackupError(msg.backup.manifest.noManifest({ dir, file: MANIFEST }), msg.backup.manifest.listHint);
  }
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    throw new InvalidBackupError(msg.backup.manifest.notJson({ file: `${dir}/${MANIFEST}` }));
  }
  return checkManifest(m, `${dir}/${MANIFEST}`);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const SHA256 = /^[0-9a-f]{64}$/;
/** An artifact is a plain file name in the backup directory: no path, no dot file. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;

/** Pure: the manifest, or an InvalidBackupError naming the first field that is wrong. */
export function checkManifest(m: unknown, where: string): Manifest {
  const bad = (field: string, what: string) =>
    new InvalidBackupError(msg.backup.manifest.invalid({ where, field, what }), msg.backup.manifest.invalidHint);
  const str = (o: Obj, k: string, field: string) => {
    if (typeof o[k] !== "string") throw bad(`${field}${k}`, msg.backup.manifest.field.mustBeString);
    return o[k] as string;
  };
  const time = (o: Obj, k: string, field: string) => {
    if (Number.isNaN(new Date(str(o, k, field)).getTime())) throw bad(`${field}${k}`, msg.backup.manifest.field.mustBeDate);
  };
  if (!isObj(m) || m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) {
    throw new InvalidBackupError(msg.backup.manifest.notOurs({ where, version: MANIFEST_VERSION }));
  }
  if (!isBackupId(str(m, "id", ""))) throw bad("id", msg.backup.manifest.field.idFormat);
  time(m, "createdAt", "");
  time(m, "finishedAt", "");
  str(m, "host", "");
  if (!isObj(m.release)) throw bad("release", msg.backup.manifest.field.isMissing);
  str(m.release, "image", "release.");
  str(m.release, "tag", "release.");
  if (m.composeProject !== null && typeof m.composeProject !== "string") throw bad("composeProject", msg.backup.manifest.field.stringOrNull);
  const encrypted = m.encryption !== undefined;
  if (encrypted) {
    const e = m.encryption;
    if (!isObj(e) || e.scheme !== "age" || !Array.isArray(e.recipients) || !e.recipients.every((r) => typeof r === "string"))
      throw bad("encryption", msg.backup.manifest.field.encryptionShape);
  }
  if (!isObj(m.components) || Object.keys(m.components).length === 0) throw bad("components", msg.backup.manifest.field.atLeastOneComponent);
  for (const [name, c] of Object.entries(m.components)) {
    const field = `components.${name}`;
    if (!COMPONENTS.includes(name as ComponentName)) throw bad(field, msg.backup.manifest.field.notAComponent({ list: COMPONENTS.join(", ") }));
    checkComponent(c, m.id as string, name as ComponentName, field, encrypted, bad);
  }
  return m as unknown as Manifest;
}

function checkComponent(
  c: unknown,
  id: string,
  name: ComponentName,
  field: string,
  encrypted: boolean,
  bad: (field: string, what: string) => InvalidBackupError,
): void {
  if (!isObj(c)) throw bad(field, msg.backup.manifest.field.mustBeObject);
  if (c.name !== name) throw bad(`${field}.name`, msg.backup.manifest.field.mustBe({ value: JSON.stringify(name) }));
  if (!isObj(c.counts) || !Object.values(c.counts).every((n) => typeof n === "number" && Number.isFinite(n)))
    throw bad(`${field}.counts`, msg.backup.manifest.field.countsNumbers);
  if (c.tools !== undefined && (!isObj(c.tools) || !Object.values(c.tools).every((t) => typeof t === "string")))
    throw bad(`${field}.tools`, msg.backup.manifest.field.toolsStrings);
  if (!Array.isArray(c.artifacts)) throw bad(`${field}.artifacts`, msg.backup.manifest.field.mustBeList);
  if (c.kept !== undefined) {
    // Every name a kept record leads to is derived from the backup's own id, never read from it.
    const k = c.kept;
    if (!isObj(k) || k.tag !== id || (k.moved !== undefined && k.moved !== true) || Object.keys(k).some((x) => x !== "tag" && x !== "moved"))
      throw bad(`${field}.kept`, msg.backup.manifest.field.keptShape);
    if (!KEPT_COMPONENTS.includes(name)) throw bad(`${field}.kept`, msg.backup.manifest.field.keptNotPossible({ component: name }));
    if (c.artifacts.length) throw bad(`${field}.artifacts`, msg.backup.manifest.field.keptNoArtifacts);
    return;
  }
  const names: string[] = [];
  c.artifacts.forEach((a: unknown, i: number) => {
    const af = `${field}.artifacts[${i}]`;
    const file = checkFile(a, af, bad);
    if (encrypted) {
      if (!file.endsWith(AGE_SUFFIX) || !isObj((a as Obj).plain)) throw bad(`${af}.plain`, msg.backup.manifest.field.plainMissing);
      names.push(checkFile((a as Obj).plain, `${af}.plain`, bad));
    } else {
      if ((a as Obj).plain !== undefined) throw bad(`${af}.plain`, msg.backup.manifest.field.plainOnlyEncrypted);
      names.push(file);
    }
  });
  for (const re of EXPECTED_ARTIFACTS[name]) {
    const n = names.filter((f) => re.test(f)).length;
    if (n !== 1)
      throw bad(
        `${field}.artifacts`,
        n === 0
          ? msg.backup.manifest.field.lackFile({ file: re.source.replace(/\\/g, "").replace(/^\^|\$$/g, "") })
          : msg.backup.manifest.field.sameFileTwice,
      );
  }
  const unexpected = names.find((f) => !EXPECTED_ARTIFACTS[name].some((re) => re.test(f)));
  if (unexpected !== undefined)
    throw bad(`${field}.artifacts`, msg.backup.manifest.field.unexpectedFile({ file: JSON.stringify(unexpected), component: name }));
}

/** An artifact record ({file, bytes, sha256}); returns its file name. */
function checkFile(a: unknown, field: string, bad: (field: string, what: string) => InvalidBackupError): string {
  if (!isObj(a)) throw bad(field, msg.backup.manifest.field.mustBeObject);
  if (typeof a.file !== "string" || !FILE_NAME.test(a.file)) throw bad(`${field}.file`, msg.backup.manifest.field.plainFileName);
  if (!Number.isSafeInteger(a.bytes) || (a.bytes as number) < 0) throw bad(`${field}.bytes`, msg.backup.manifest.field.wholeNumber);
  if (typeof a.sha256 !== "string" || !SHA256.test(a.sha256)) throw bad(`${field}.sha256`, msg.backup.manifest.field.hexDigits);
  return a.file;
}

/** Re-read every artifact of the given components and compare size and sha256. */
export async function verifyArtifacts(dir: string, m: Manifest, components: readonly ComponentName[]): Promise<void> {
  for (const name of components) {
    const rec = m.components[name];
    if (!rec) throw new InvalidBackupError(msg.backup.manifest.noComponent({ id: m.id, component: name }), msg.backup.manifest.noComponentHint);
    await verifyComponentArtifacts(dir, m.id, rec);
  }
}

export async function verifyComponentArtifacts(dir: string, id: string, rec: ComponentRecord): Promise<void> {
  for (const a of rec.artifacts) {
    if (a.file.includes("/") || a.file.startsWith("."))
      throw new InvalidBackupError(msg.backup.manifest.artifactNameNotAllowed({ id, name: JSON.stringify(a.file) }));
    let got;
    try {
      got = await sha256File(join(dir, a.file));
    } catch {
      throw new InvalidBackupError(msg.backup.manifest.artifactMissing({ id, file: a.file }));
    }
    if (got.bytes !== a.bytes || got.sha256 !== a.sha256) {
      throw new InvalidBackupError(msg.backup.manifest.checksumMismatch({ id, file: a.file }), msg.backup.manifest.checksumMismatchHint);
    }
  }
}
