/**
 * Optional encryption of backups at rest with age (https://age-encryption.org): X25519
 * recipients, ChaCha20-Poly1305 in 64 KiB authenticated chunks, streamed. An operator can
 * always decrypt by hand with the stock `age -d -i key.txt`, without claw-ops.
 *
 * .env.prod:
 *   BACKUP_AGE_RECIPIENTS  age1… public keys (comma-separated): the server can encrypt but
 *                          not decrypt; the key stays offline and is given to a restore with
 *                          --identity <file>.
 *   BACKUP_ENCRYPTION_KEY  an AGE-SECRET-KEY-1… key: encrypts to its own public key and
 *                          decrypts; simplest, but the key lives on the server.
 *
 * Each artifact is verified in plaintext first (pg_restore, redis-check-rdb, …), then
 * encrypted to `<file>.age`, checked to decrypt when the key is at hand, and the plaintext
 * removed before the backup is renamed into place; the manifest keeps both checksums.
 * Restore and drill decrypt into a private scratch dir (0700) under backups/, check the
 * plaintext sha256, and work from there.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ageDecrypt, ageEncrypt, ageRecipientOf, ageVersion, encryptAndProve } from "../commands/age.ts";
import { InvalidBackupError, PreconditionError } from "../core/errors.ts";
import { canRun, lastLine, run } from "../core/exec.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { Secret } from "../core/secret.ts";
import { DATA_COMMAND_TIMEOUT_MS } from "../core/time.ts";
import type { EncryptionSettings } from "../project/config.ts";
import { checkAgeKey } from "../project/setting-checks.ts";
import { AGE_SUFFIX, type ArtifactRecord, artifact, type ComponentName, type ComponentRecord, type Manifest, sha256File } from "./manifest.ts";
import { newWorkDir } from "./store.ts";

export interface EncryptionConfig {
  recipients: string[];
  /** A key that can decrypt (BACKUP_ENCRYPTION_KEY); absent in recipients-only mode. */
  key?: Secret;
}

/** Pure: what age's stderr means, as an error an operator can act on. */
export function decryptError(stderr: string, what: string): Error {
  if (/no identity matched/i.test(stderr)) {
    return new PreconditionError(msg.backup.encryption.noIdentityMatched({ what }), msg.backup.encryption.noIdentityMatchedHint);
  }
  if (/header|armor|unexpected EOF|failed to decrypt|authenticate/i.test(stderr)) {
    return new InvalidBackupError(
      msg.backup.encryption.altered({ what, reason: lastLine(stderr).replace(/^age: error: /, "") || msg.backup.encryption.ageFailed }),
    );
  }
  return new InvalidBackupError(msg.backup.encryption.couldNotDecrypt({ what, reason: lastLine(stderr) || msg.backup.encryption.ageFailed }));
}

// ---- configuration --------------------------------------------------------------------------
/** What backups are encrypted to, undefined when they are not (needs age-keygen for the key's own recipient). */
export async function encryptionConfig(settings: EncryptionSettings): Promise<EncryptionConfig | undefined> {
  const { recipients, key } = settings;
  if (!key && recipients.length === 0) return undefined;
  await requireAge();
  if (!key) return { recipients };
  const own = (await run({ argv: ageRecipientOf() }, { input: `${key.reveal()}\n` })).stdout.trim();
  return { recipients: [...new Set([own, ...recipients])], key };
}

/** A key for decrypting: --identity <file> first, else BACKUP_ENCRYPTION_KEY. */
export function decryptionKey(settings: EncryptionSettings, identityFile?: string): Secret | undefined {
  if (!identityFile) return settings.key;
  let text: string;
  try {
    const st = statSync(identityFile);
    if (st.mode & 0o077)
      throw new PreconditionError(
        msg.backup.encryption.identityReadableByOthers({ file: identityFile, mode: (st.mode & 0o777).toString(8) }),
        msg.backup.encryption.identityChmodHint({ file: identityFile }),
      );
    text = readFileSync(identityFile, "utf8");
  } catch (e) {
    if (e instanceof PreconditionError) throw e;
    throw new PreconditionError(msg.backup.encryption.cannotReadIdentity({ file: identityFile }));
  }
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("AGE-SECRET-KEY-1"));
  if (!line) throw new PreconditionError(msg.backup.encryption.noKeyLine({ file: identityFile }));
  checkAgeKey(line);
  return new Secret(line); // a Secret registers itself for masking
}

async function requireAge(): Promise<void> {
  if (!(await canRun({ argv: ageVersion() }))) {
    throw new PreconditionError(msg.backup.encryption.ageNotInstalled, msg.backup.encryption.ageNotInstalledHint);
  }
}

// ---- doing ----------------------------------------------------------------------------------
/** The key in a 0600 file inside a 0700 scratch dir, for `age -i`; the caller removes the dir. */
function writeIdentity(dir: string, key: Secret): string {
  const f = join(dir, ".identity");
  writeFileSync(f, `${key.reveal()}\n`, { mode: 0o600 });
  return f;
}

/**
 * Encrypt a component's verified artifacts in place: `<file>` becomes `<file>.age`. With the
 * key at hand, each ciphertext is proved to open (authenticated chunk by chunk) in the same pass.
 */
export async function encryptArtifacts(root: string, dir: string, rec: ComponentRecord, cfg: EncryptionConfig): Promise<ComponentRecord> {
  const scratch = cfg.key ? newWorkDir(root, "key") : undefined;
  try {
    const identity = scratch && cfg.key ? writeIdentity(scratch, cfg.key) : undefined;
    const artifacts: ArtifactRecord[] = [];
    for (const a of rec.artifacts) {
      const enc = a.file + AGE_SUFFIX;
      if (identity) {
        // One pass: the ciphertext goes to its file and, at the same time, through a decryption.
        const r = await run(
          { argv: encryptAndProve(cfg.recipients, identity, join(dir, enc)) },
          { stdinFile: join(dir, a.file), allowFailure: true, timeoutMs: DATA_COMMAND_TIMEOUT_MS },
        );
        if (r.status !== 0) throw decryptError(r.stderr, `${rec.name}: ${enc}`);
      } else {
        await run(
          { argv: ageEncrypt(cfg.recipients) },
          { stdinFile: join(dir, a.file), stdoutFile: join(dir, enc), timeoutMs: DATA_COMMAND_TIMEOUT_MS },
        );
      }
      rmSync(join(dir, a.file));
      artifacts.push({ ...(await artifact(dir, enc)), plain: { file: a.file, bytes: a.bytes, sha256: a.sha256 } });
    }
    return { ...rec, artifacts, tools: { ...rec.tools, age: "age (X25519, ChaCha20-Poly1305)" } };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

export interface OpenedBackup {
  /** Where the plaintext artifacts are (the backup dir itself when it is not encrypted). */
  dir: string;
  /** The manifest as the components see it: artifact names and checksums of the plaintext. */
  manifest: Manifest;
  close(): void;
}

/** Pure: the manifest the components work with once the artifacts are decrypted. */
export function plainManifest(m: Manifest): Manifest {
  const components: Manifest["components"] = {};
  for (const [name, rec] of Object.entries(m.components)) {
    components[name as ComponentName] = { ...rec, artifacts: rec.artifacts.map((a) => (a.plain ? { ...a.plain } : a)) };
  }
  return { ...m, components };
}

/**
 * Make a backup's artifacts readable for a restore or a drill. An encrypted backup is
 * decrypted into a private scratch dir and every plaintext checked against its sha256
 * before anything uses it; a missing or wrong key fails here, before anything is touched.
 */
export async function openBackup(
  root: string,
  dir: string,
  m: Manifest,
  components: readonly ComponentName[],
  key: Secret | undefined,
): Promise<OpenedBackup> {
  if (!m.encryption) return { dir, manifest: m, close: () => undefined };
  if (!key) {
    throw new PreconditionError(
      msg.backup.encryption.encryptedNoKeyRecipients({ id: m.id, n: m.encryption.recipients.length }),
      msg.backup.encryption.noKeyHint,
    );
  }
  await requireAge();
  const work = newWorkDir(root, "decrypt");
  try {
    const identity = writeIdentity(work, key);
    for (const c of components) {
      for (const a of m.components[c]?.artifacts ?? []) {
        if (!a.plain) throw new InvalidBackupError(msg.backup.encryption.noPlaintextRecord({ id: m.id, file: a.file }));
        if (a.plain.file.includes("/") || a.plain.file.startsWith("."))
          throw new InvalidBackupError(msg.backup.manifest.artifactNameNotAllowed({ id: m.id, name: JSON.stringify(a.plain.file) }));
        const r = await run(
          { argv: ageDecrypt(identity) },
          { stdinFile: join(dir, a.file), stdoutFile: join(work, a.plain.file), allowFailure: true, timeoutMs: DATA_COMMAND_TIMEOUT_MS },
        );
        if (r.status !== 0) throw decryptError(r.stderr, msg.backup.encryption.whatBackupFile({ id: m.id, file: a.file }));
        const got = await sha256File(join(work, a.plain.file));
        if (got.sha256 !== a.plain.sha256 || got.bytes !== a.plain.bytes) {
          throw new InvalidBackupError(msg.backup.encryption.decryptsToDifferent({ id: m.id, file: a.file }));
        }
      }
    }
    rmSync(identity);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  return { dir: work, manifest: plainManifest(m), close: () => rmSync(work, { recursive: true, force: true }) };
}

/** openBackup, shown as a step when there is something to decrypt (restore and drill alike). */
export function openBackupShown(
  out: Output,
  root: string,
  dir: string,
  m: Manifest,
  components: readonly ComponentName[],
  key: Secret | undefined,
): Promise<OpenedBackup> {
  const open = () => openBackup(root, dir, m, components, key);
  return m.encryption
    ? out.step(
        localized((t) => t.backup.encryption.decryptStep),
        open,
      )
    : open();
}

/** Cheap key check for planning and --dry-run: decrypt the smallest artifact to nowhere. */
export async function checkKeyFits(
  root: string,
  dir: string,
  m: Manifest,
  components: readonly ComponentName[],
  key: Secret | undefined,
): Promise<void> {
  if (!m.encryption) return;
  const all = components.flatMap((c) => m.components[c]?.artifacts ?? []).sort((x, y) => x.bytes - y.bytes);
  const smallest = all[0];
  if (!smallest) return;
  if (!key) {
    throw new PreconditionError(msg.backup.encryption.encryptedNoKey({ id: m.id }), msg.backup.encryption.noKeyHint);
  }
  await requireAge();
  const work = newWorkDir(root, "key");
  try {
    const r = await run(
      { argv: ageDecrypt(writeIdentity(work, key)) },
      { stdinFile: join(dir, smallest.file), stdoutFile: "/dev/null", allowFailure: true },
    );
    if (r.status !== 0) throw decryptError(r.stderr, msg.backup.encryption.whatBackup({ id: m.id }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
