import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitCode, PreconditionError } from "../../../lib/core/errors.ts";
import { DEFAULT_POLICY, offsiteSettings, parseConfig, postgresSettings } from "../../../lib/project/config.ts";

const get = (vars: Record<string, string>) => (k: string) => vars[k];
const BASE = { POSTGRES_USER: "claw_ai", POSTGRES_DB: "claw_ai" };
const refusal = (fn: () => unknown): PreconditionError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PreconditionError, String(e));
    assert.equal(e.exitCode, ExitCode.precondition);
    return e;
  }
  assert.fail("expected a refusal");
};

test("the configuration is read once into typed sections with their defaults", () => {
  const c = parseConfig(get(BASE));
  assert.deepEqual(c.postgres, { user: "claw_ai", db: "claw_ai", compressionLevel: undefined });
  assert.deepEqual(c.retention(), DEFAULT_POLICY);
  assert.deepEqual(c.encryption, { recipients: [], key: undefined });
  assert.equal(c.offsite(), undefined);
  assert.deepEqual(c.notify, { webhookUrl: undefined });
});

test("BACKUP_PG_COMPRESSION becomes a number; anything but 0-9 is refused naming the key", () => {
  assert.equal(postgresSettings(get({ ...BASE, BACKUP_PG_COMPRESSION: "6" })).compressionLevel, 6);
  assert.match(
    refusal(() => postgresSettings(get({ ...BASE, BACKUP_PG_COMPRESSION: "fast" }))).message,
    /^\.env\.prod: BACKUP_PG_COMPRESSION must be a zlib level 0-9$/,
  );
});

test("offsite settings: defaults for region, path style, prefix and part size; the secret is a Secret", () => {
  const o = offsiteSettings(
    get({
      OFFSITE_S3_BUCKET: "claw-backups",
      OFFSITE_S3_ENDPOINT: "https://s3.example",
      OFFSITE_S3_ACCESS_KEY: "AK",
      OFFSITE_S3_SECRET_KEY: "very-secret-key",
      OFFSITE_S3_PREFIX: "/srv/",
    }),
  )!;
  assert.equal(o.region, "us-east-1");
  assert.equal(o.pathStyle, true);
  assert.equal(o.prefix, "srv");
  assert.equal(o.partBytes, 64 * 1024 * 1024);
  assert.equal(String(o.secretKey), "[REDACTED]");
  assert.equal(o.secretKey.reveal(), "very-secret-key");
});

test("offsite settings name the key that is missing or wrong, never a value", () => {
  const base = {
    OFFSITE_S3_BUCKET: "claw-backups",
    OFFSITE_S3_ENDPOINT: "https://s3.example",
    OFFSITE_S3_ACCESS_KEY: "AK",
    OFFSITE_S3_SECRET_KEY: "very-secret-key",
  };
  assert.match(refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_SECRET_KEY: "" }))).message, /OFFSITE_S3_SECRET_KEY is needed/);
  assert.match(
    refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_PART_MB: "4" }))).message,
    /OFFSITE_S3_PART_MB must be a whole number of at least 5/,
  );
  assert.match(refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_PATH_STYLE: "yes" }))).message, /OFFSITE_S3_PATH_STYLE must be true or false/);
  const c = parseConfig(get({ ...BASE, ...base, OFFSITE_S3_ENDPOINT: "" }));
  const e = refusal(() => c.offsite());
  assert.doesNotMatch(e.message, /very-secret-key/);
});

test("a malformed encryption key is refused while the configuration is read, without echoing it", () => {
  const e = refusal(() => parseConfig(get({ ...BASE, BACKUP_ENCRYPTION_KEY: "AGE-SECRET-KEY-1NOPE" })));
  assert.doesNotMatch(e.message, /NOPE/);
});

test("a wrong retention or offsite setting is refused only by what uses it: reading the configuration (a rollback) does not fail", () => {
  const c = parseConfig(get({ ...BASE, OFFSITE_S3_BUCKET: "Not A Bucket", BACKUP_RETENTION_DAILY_DAYS: "soon" }));
  assert.match(refusal(() => c.offsite()).message, /OFFSITE_S3_BUCKET/);
  assert.match(refusal(() => c.retention()).message, /BACKUP_RETENTION_DAILY_DAYS/);
});

test("offsite bucket, prefix and endpoint that would send requests to another path or host are refused (exit 3)", () => {
  const base = {
    OFFSITE_S3_BUCKET: "claw-backups",
    OFFSITE_S3_ENDPOINT: "https://s3.example",
    OFFSITE_S3_ACCESS_KEY: "AK",
    OFFSITE_S3_SECRET_KEY: "very-secret-key",
  };
  assert.equal(offsiteSettings(get({ ...base, OFFSITE_S3_PREFIX: "srv1/claw" }))!.prefix, "srv1/claw");
  for (const prefix of ["../x", "a/../b", "a//b", "a/./b", "a b", "a#b", "a?b"]) {
    assert.match(
      refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_PREFIX: prefix }))).message,
      /OFFSITE_S3_PREFIX must be path segments/,
      prefix,
    );
  }
  for (const bucket of ["evil.com#", "user@evil.com", "a/b", "Upper", "ab", "a..b", "-x-"]) {
    assert.match(
      refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_BUCKET: bucket }))).message,
      /OFFSITE_S3_BUCKET is not a valid bucket name/,
      bucket,
    );
  }
  for (const endpoint of [
    "ftp://x",
    "https://user:pw@s3.example",
    "https://s3.example/path",
    "https://s3.example?x=1",
    "https://s3.example#frag",
    "not a url",
  ]) {
    assert.match(refusal(() => offsiteSettings(get({ ...base, OFFSITE_S3_ENDPOINT: endpoint }))).message, /OFFSITE_S3_ENDPOINT/, endpoint);
  }
  assert.equal(offsiteSettings(get({ ...base, OFFSITE_S3_ENDPOINT: "http://127.0.0.1:9001" }))!.endpoint, "http://127.0.0.1:9001");
});

// ---- moved here from tests/unit/encryption.test.ts and tests/unit/retention.test.ts ----
import { retentionSettings } from "../../../lib/project/config.ts";
import { parseRecipients } from "../../../lib/project/setting-checks.ts";
import { expectError, keygen } from "../helpers.ts";

const A = keygen();
const B = keygen();

test("recipients are age1… keys, comma or space separated; anything else is refused without echoing it whole", () => {
  assert.deepEqual(parseRecipients(`${A.recipient}, ${B.recipient}`), [A.recipient, B.recipient]);
  assert.deepEqual(parseRecipients(""), []);
  assert.deepEqual(parseRecipients(undefined), []);
  const e = expectError(PreconditionError, ExitCode.precondition, () => parseRecipients("age1tooshort"));
  assert.match(e.message, /BACKUP_AGE_RECIPIENTS/);
  expectError(PreconditionError, ExitCode.precondition, () => parseRecipients(A.key));
});

test("policy comes from BACKUP_RETENTION_*_DAYS, with defaults", () => {
  const env = (values: Record<string, string>) => (k: string) => values[k];
  assert.deepEqual(retentionSettings(env({})), DEFAULT_POLICY);
  assert.deepEqual(retentionSettings(env({ BACKUP_RETENTION_DAILY_DAYS: "" })), DEFAULT_POLICY);
  assert.deepEqual(
    retentionSettings(env({ BACKUP_RETENTION_DAILY_DAYS: "14", BACKUP_RETENTION_WEEKLY_DAYS: " 60 ", BACKUP_RETENTION_MONTHLY_DAYS: "730" })),
    { dailyDays: 14, weeklyDays: 60, monthlyDays: 730 },
  );
  assert.deepEqual(retentionSettings(env({ BACKUP_RETENTION_WEEKLY_DAYS: "1" })), { ...DEFAULT_POLICY, weeklyDays: 1 });
  assert.deepEqual(DEFAULT_POLICY, { dailyDays: 7, weeklyDays: 30, monthlyDays: 365 }, "the default is not mutated");
});

test("a non-integer, negative or zero retention is refused, naming the key", () => {
  for (const key of ["BACKUP_RETENTION_DAILY_DAYS", "BACKUP_RETENTION_WEEKLY_DAYS", "BACKUP_RETENTION_MONTHLY_DAYS"]) {
    for (const value of ["0", "-1", "7.5", "1e3", "7d", "seven", "0x10", "99999999999999999999"]) {
      assert.throws(
        () => retentionSettings((k) => (k === key ? value : undefined)),
        (e: unknown) => {
          assert.ok(e instanceof PreconditionError, String(e));
          assert.equal(e.exitCode, ExitCode.precondition);
          assert.match(e.message, new RegExp(`^${key} must be a positive whole number of days`));
          return true;
        },
        `${key}=${value}`,
      );
    }
  }
});

import { snapshotSettings } from "../../../lib/project/config.ts";

const SNAPSHOT_TIERS = ["pre-rollback", "pre-restore", "pre-deploy", "pre-migrate"] as const;
const keepAll = (n: number) => Object.fromEntries(SNAPSHOT_TIERS.map((t) => [t, n]));

test("the snapshot policy defaults to the newest 3 of each tier and 7 days", () => {
  assert.deepEqual(snapshotSettings(get({})), { keep: keepAll(3), days: 7 });
  assert.deepEqual(snapshotSettings(get({ BACKUP_SNAPSHOT_KEEP: "", BACKUP_SNAPSHOT_DAYS: " " })), { keep: keepAll(3), days: 7 });
  assert.deepEqual(parseConfig(get(BASE)).snapshotRetention(), { keep: keepAll(3), days: 7 });
});

test("BACKUP_SNAPSHOT_KEEP and _DAYS set the policy; DEPLOY_ and MIGRATE_KEEP_BACKUPS override their tier only when set", () => {
  assert.deepEqual(snapshotSettings(get({ BACKUP_SNAPSHOT_KEEP: "5", BACKUP_SNAPSHOT_DAYS: " 14 " })), { keep: keepAll(5), days: 14 });
  assert.deepEqual(snapshotSettings(get({ BACKUP_SNAPSHOT_KEEP: "2", DEPLOY_KEEP_BACKUPS: "6", MIGRATE_KEEP_BACKUPS: "" })), {
    keep: { "pre-rollback": 2, "pre-restore": 2, "pre-deploy": 6, "pre-migrate": 2 },
    days: 7,
  });
  assert.deepEqual(snapshotSettings(get({ MIGRATE_KEEP_BACKUPS: "1" })).keep, { ...keepAll(3), "pre-migrate": 1 });
  // The deploy and migrate sections still read their own keys as before.
  const c = parseConfig(get({ ...BASE, DEPLOY_KEEP_BACKUPS: "6" }));
  assert.equal(c.deploy.keepBackups, 6);
  assert.equal(c.migrate.keepBackups, 5);
});

test("a snapshot count or age that is not a positive whole number is refused, naming the key, only when the policy is asked for", () => {
  for (const key of ["BACKUP_SNAPSHOT_KEEP", "BACKUP_SNAPSHOT_DAYS", "DEPLOY_KEEP_BACKUPS", "MIGRATE_KEEP_BACKUPS"]) {
    for (const value of ["0", "-1", "2.5", "1e3", "3d", "three", "99999999999999999999"]) {
      const e = refusal(() => snapshotSettings(get({ [key]: value })));
      assert.match(e.message, new RegExp(`^${key} must be a positive whole number of`), `${key}=${value}`);
      assert.doesNotMatch(e.message, new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.match(e.hint ?? "", new RegExp(`set ${key}=\\d+ in \\.env\\.prod`));
    }
  }
  const c = parseConfig(get({ ...BASE, BACKUP_SNAPSHOT_DAYS: "soon" }));
  assert.match(refusal(() => c.snapshotRetention()).message, /BACKUP_SNAPSHOT_DAYS/);
});

test("BACKUP_SNAPSHOT_IN_PLACE is yes unless set to no; anything but yes/no/true/false/1/0 is refused naming the key, only when asked for", () => {
  assert.equal(parseConfig(get(BASE)).snapshotInPlace(), true);
  for (const v of ["no", "NO", "false", "0"]) assert.equal(parseConfig(get({ ...BASE, BACKUP_SNAPSHOT_IN_PLACE: v })).snapshotInPlace(), false);
  for (const v of ["yes", "true", "1", " Yes "]) assert.equal(parseConfig(get({ ...BASE, BACKUP_SNAPSHOT_IN_PLACE: v })).snapshotInPlace(), true);
  const c = parseConfig(get({ ...BASE, BACKUP_SNAPSHOT_IN_PLACE: "maybe" }));
  assert.match(refusal(() => c.snapshotInPlace()).message, /BACKUP_SNAPSHOT_IN_PLACE must be yes or no/);
});

test("hardening row 7: a shell-environment override passes the same rule as .env.prod's value before it reaches PGOPTIONS or argv", async () => {
  const { migrateSettings, deploySettings } = await import("../../../lib/project/config.ts");
  const none = () => undefined;
  assert.equal(migrateSettings(none, { MIGRATE_LOCK_TIMEOUT: "30s" }).lockTimeout, "30s");
  assert.throws(() => migrateSettings(none, { MIGRATE_LOCK_TIMEOUT: "5s -c statement_timeout=0" }), /MIGRATE_LOCK_TIMEOUT/);
  assert.throws(() => migrateSettings(none, { MIGRATE_STATEMENT_TIMEOUT: "0 -c role=postgres" }), /MIGRATE_STATEMENT_TIMEOUT/);
  assert.throws(() => migrateSettings(none, { MIGRATE_LOCK_WAIT_S: "1e9" }), /MIGRATE_LOCK_WAIT_S/);
  // .env.prod's own values were validated when it was loaded; the rule is the same one.
  assert.equal(migrateSettings((k) => (k === "MIGRATE_LOCK_TIMEOUT" ? "10s" : undefined), {}).lockTimeout, "10s");
  assert.equal(deploySettings(none, { DEPLOY_EMAIL: "ops@claw-ai.com" }).email, "ops@claw-ai.com");
});
