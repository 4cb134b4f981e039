/**
 * Backup encryption with the real age tool (no mock): round trip, wrong key, tampering,
 * truncation, recipients-only mode, and what is left on disk.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  checkKeyFits,
  decryptError,
  decryptionKey,
  encryptArtifacts,
  encryptionConfig,
  openBackup,
  plainManifest,
} from "../../../lib/backup/encryption.ts";
import { artifact, type ComponentRecord, type Manifest } from "../../../lib/backup/manifest.ts";
import { encryptAndProve } from "../../../lib/commands/age.ts";
import { ExitCode, InvalidBackupError, PreconditionError } from "../../../lib/core/errors.ts";
import { Secret } from "../../../lib/core/secret.ts";
import { encryptionSettings } from "../../../lib/project/config.ts";
import { expectError, keygen, tmp } from "../helpers.ts";

const A = keygen();

const B = keygen();

const env = (vars: Record<string, string>) => encryptionSettings((k) => vars[k]);

/** A project root with a staging dir holding two verified plaintext artifacts. */
async function staged(): Promise<{ root: string; dir: string; rec: ComponentRecord; data: Record<string, Buffer> }> {
  const root = tmp();
  const dir = join(root, "backups", "daily", "20240101-020000");
  execFileSync("mkdir", ["-p", dir]);
  const data = { "postgres-x.dump": Buffer.alloc(300_000, 7), "postgres-globals.sql": Buffer.from("CREATE ROLE claw;\n") };
  data["postgres-x.dump"].write("a pg dump with some text in it", 1000);
  for (const [f, b] of Object.entries(data)) writeFileSync(join(dir, f), b, { mode: 0o600 });
  const rec: ComponentRecord = {
    name: "postgres",
    status: "ok",
    startedAt: "",
    finishedAt: "",
    durationMs: 0,
    tools: {},
    counts: {},
    notes: [],
    artifacts: [await artifact(dir, "postgres-x.dump"), await artifact(dir, "postgres-globals.sql")],
  };
  return { root, dir, rec, data };
}

function manifestOf(rec: ComponentRecord, recipients: string[]): Manifest {
  return {
    format: "claw-ops-backup",
    version: 1,
    id: "20240101-020000",
    createdAt: "",
    finishedAt: "",
    host: "h",
    release: { image: "i", tag: "t" },
    composeProject: null,
    encryption: { scheme: "age", recipients },
    components: { postgres: rec },
  };
}

test("age's errors become a wrong-key precondition (exit 3) or an altered-backup error (exit 5)", () => {
  assert.ok(decryptError("age: error: no identity matched any of the recipients", "b") instanceof PreconditionError);
  const altered = decryptError("age: error: failed to decrypt and authenticate payload chunk", "b");
  assert.ok(altered instanceof InvalidBackupError);
  assert.match(altered.message, /altered or is incomplete/);
});

test("no encryption settings means no encryption; a key adds its own recipient; a bad key is refused by name", async () => {
  assert.equal(await encryptionConfig(env({})), undefined);
  const cfg = await encryptionConfig(env({ BACKUP_ENCRYPTION_KEY: A.key, BACKUP_AGE_RECIPIENTS: B.recipient }));
  assert.deepEqual(cfg?.recipients, [A.recipient, B.recipient]);
  assert.equal(String(cfg?.key), "[REDACTED]");
  const e = await (async () => {
    try {
      await encryptionConfig(env({ BACKUP_ENCRYPTION_KEY: "AGE-SECRET-KEY-1NOPE" }));
    } catch (err) {
      return err as Error;
    }
  })();
  assert.ok(e instanceof PreconditionError);
  assert.doesNotMatch(e.message, /NOPE/);
});

test("encrypted artifacts replace the plaintext (0600), keep both checksums, and decrypt back to the exact bytes", async () => {
  const { root, dir, rec, data } = await staged();
  const cfg = (await encryptionConfig(env({ BACKUP_ENCRYPTION_KEY: A.key })))!;
  const enc = await encryptArtifacts(root, dir, rec, cfg);
  assert.deepEqual(readdirSync(dir).sort(), ["postgres-globals.sql.age", "postgres-x.dump.age"]);
  for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
  assert.ok(!readFileSync(join(dir, "postgres-x.dump.age")).includes("a pg dump with some text"), "no plaintext in the ciphertext");
  assert.deepEqual(
    enc.artifacts.map((a) => a.plain),
    rec.artifacts,
  );
  assert.deepEqual(readdirSync(join(root, "backups")).sort(), ["daily"], "the key's scratch dir is gone");

  const m = manifestOf(enc, cfg.recipients);
  const opened = await openBackup(root, dir, m, ["postgres"], new Secret(A.key));
  for (const [f, b] of Object.entries(data)) assert.ok(readFileSync(join(opened.dir, f)).equals(b), f);
  assert.deepEqual(opened.manifest.components.postgres!.artifacts, rec.artifacts);
  assert.deepEqual(readdirSync(opened.dir).sort(), Object.keys(data).sort(), "no key file next to the plaintext");
  assert.equal(statSync(opened.dir).mode & 0o777, 0o700);
  opened.close();
  assert.deepEqual(readdirSync(join(root, "backups")).sort(), ["daily"]);
});

test("a wrong key, no key, a flipped byte or a truncated file fail before anything is used, leaving no plaintext", async () => {
  const { root, dir, rec } = await staged();
  const cfg = (await encryptionConfig(env({ BACKUP_AGE_RECIPIENTS: A.recipient })))!;
  assert.equal(cfg.key, undefined, "recipients only: the server cannot decrypt");
  const m = manifestOf(await encryptArtifacts(root, dir, rec, cfg), cfg.recipients);
  const scratchFree = () => assert.deepEqual(readdirSync(join(root, "backups")).sort(), ["daily"]);

  const wrong = await openBackup(root, dir, m, ["postgres"], new Secret(B.key)).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(wrong instanceof PreconditionError && /encrypted to a key that was not given/.test(wrong.message), String(wrong));
  await assert.rejects(checkKeyFits(root, dir, m, ["postgres"], new Secret(B.key)), PreconditionError);
  await assert.rejects(openBackup(root, dir, m, ["postgres"], undefined), /is encrypted .* and no key was given/);
  scratchFree();

  const dump = join(dir, "postgres-x.dump.age");
  const original = readFileSync(dump);
  const flipped = Buffer.from(original);
  const at = flipped.length - 100;
  flipped[at] = flipped[at]! ^ 0x01;
  writeFileSync(dump, flipped);
  const e1 = await openBackup(root, dir, m, ["postgres"], new Secret(A.key)).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(e1 instanceof InvalidBackupError && /does not decrypt: it was altered or is incomplete/.test(e1.message), String(e1));
  writeFileSync(dump, original);
  truncateSync(dump, original.length - 70_000);
  const e2 = await openBackup(root, dir, m, ["postgres"], new Secret(A.key)).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(e2 instanceof InvalidBackupError, String(e2));
  scratchFree();

  writeFileSync(dump, original);
  (await openBackup(root, dir, m, ["postgres"], new Secret(A.key))).close();
});

test("--identity reads the key from a private file; a world-readable one is refused", () => {
  const d = tmp();
  const f = join(d, "key.txt");
  writeFileSync(f, `# created: today\n# public key: ${A.recipient}\n${A.key}\n`, { mode: 0o600 });
  assert.equal(decryptionKey(env({}), f)?.reveal(), A.key);
  chmodSync(f, 0o644);
  expectError(PreconditionError, ExitCode.precondition, () => decryptionKey(env({}), f));
  assert.equal(decryptionKey(env({ BACKUP_ENCRYPTION_KEY: B.key }))?.reveal(), B.key);
  assert.equal(decryptionKey(env({})), undefined);
});

test("the components see the plaintext names and checksums of an encrypted manifest", () => {
  const rec = {
    name: "postgres",
    status: "ok",
    startedAt: "",
    finishedAt: "",
    durationMs: 0,
    tools: {},
    counts: {},
    notes: [],
    artifacts: [{ file: "redis.rdb.age", bytes: 10, sha256: "c", plain: { file: "redis.rdb", bytes: 5, sha256: "p" } }],
  } as ComponentRecord;
  const m = plainManifest(manifestOf(rec, []));
  assert.deepEqual(m.components.postgres!.artifacts, [{ file: "redis.rdb", bytes: 5, sha256: "p" }]);
});

test("the key's proof runs on the ciphertext as it is written: a ciphertext the key cannot open fails the backup", async () => {
  const { root, dir, rec } = await staged();
  const cfg = { recipients: [B.recipient], key: new Secret(A.key) };
  await assert.rejects(encryptArtifacts(root, dir, rec, cfg), PreconditionError);
  assert.ok(readdirSync(dir).includes("postgres-x.dump"), "the verified plaintext is not removed when the proof fails");
  assert.deepEqual(encryptAndProve(["age1x"], "/k", "/o.age").slice(0, 4), ["bash", "-o", "pipefail", "-c"]);
});
