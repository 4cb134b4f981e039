/**
 * The typed configuration: `.env.prod` read once into sections (release, postgres, deploy,
 * migrate, retention, encryption, offsite, notifications), each value read through the table
 * of settings (settings.ts: its type, check and default), with errors that name the key and
 * never the value. Nothing outside lib/project reads a setting from the environment.
 */
import { hostname } from "node:os";
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import type { Secret } from "../core/secret.ts";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import type { S3Config } from "../infra/s3.ts";
import { loadEnv } from "./env.ts";
import { type BackupComponentName, offsitePrefix } from "./setting-checks.ts";
import type { EnvGetter } from "./setting-types.ts";
import { isSet, type SettingName, settingDefault, settingReader } from "./settings.ts";

export interface ReleaseSettings {
  /** CLAW_AI_IMAGE: the backend image's repository. */
  image: string | undefined;
  /** CLAW_AI_TAG as `.env.prod` has it (a deploy writes the new one into the file, not here). */
  tag: string | undefined;
}

export interface FlowerSettings {
  user: string | undefined;
  password: Secret | undefined;
}

export interface PostgresSettings {
  user: string;
  db: string;
  /** BACKUP_PG_COMPRESSION: pg_dump's own zlib at this level instead of zstd. */
  compressionLevel: number | undefined;
}

export interface RetentionPolicy {
  dailyDays: number;
  weeklyDays: number;
  monthlyDays: number;
}

export const DEFAULT_POLICY: RetentionPolicy = Object.freeze({
  dailyDays: settingDefault("BACKUP_RETENTION_DAILY_DAYS"),
  weeklyDays: settingDefault("BACKUP_RETENTION_WEEKLY_DAYS"),
  monthlyDays: settingDefault("BACKUP_RETENTION_MONTHLY_DAYS"),
});

/**
 * Snapshot retention: per tier, the newest `keep[tier]` are kept, and every one younger than
 * `days` days; the rest is pruned (the undo record's snapshot never is).
 */
export interface SnapshotPolicy {
  keep: Record<SnapshotTier, number>;
  days: number;
}

export const DEFAULT_SNAPSHOT_KEEP = settingDefault("BACKUP_SNAPSHOT_KEEP");
export const DEFAULT_SNAPSHOT_DAYS = settingDefault("BACKUP_SNAPSHOT_DAYS");

export interface EncryptionSettings {
  /** BACKUP_AGE_RECIPIENTS (the key's own recipient is added when the key is set). */
  recipients: string[];
  /** BACKUP_ENCRYPTION_KEY: encrypts and decrypts. */
  key: Secret | undefined;
}

export interface OffsiteSettings extends S3Config {
  prefix: string;
  /** Files larger than this go up as a multipart upload in parts of this size. */
  partBytes: number;
}

export interface NotifySettings {
  webhookUrl: string | undefined;
}

export interface DeploySettings {
  /** The TLS certificate's domain: DEPLOY_DOMAIN, else DOMAIN (the environment wins over .env.prod). */
  domain: string | undefined;
  email: string | undefined;
  /** Images of this many succeeded releases are kept, so going back needs no pull (5 when unset). */
  keepReleases: number;
  /** DEPLOY_KEEP_BACKUPS as given (5 when unset); pruning reads snapshotRetention(), where unset means BACKUP_SNAPSHOT_KEEP. */
  keepBackups: number;
  minFreeMb: number;
  /** DEPLOY_BACKUP_COMPONENTS (by default everything but Milvus). */
  backupComponents: BackupComponentName[];
}

export interface MigrateSettings {
  lint: "warn" | "strict";
  lockTimeout: string;
  statementTimeout: string;
  lockWaitS: number;
  lockRetries: number;
  expectTables: string[];
  extensions: string[];
  /** MIGRATE_COMMAND as argv, for a backend that does not use Alembic; undefined: Alembic. */
  command: string[] | undefined;
  /** MIGRATE_KEEP_BACKUPS as given (5 when unset); pruning reads snapshotRetention(), where unset means BACKUP_SNAPSHOT_KEEP. */
  keepBackups: number;
}

export interface ClawConfig {
  release: ReleaseSettings;
  postgres: PostgresSettings;
  flower: FlowerSettings;
  deploy: DeploySettings;
  migrate: MigrateSettings;
  encryption: EncryptionSettings;
  notify: NotifySettings;
  /**
   * Read (and checked) when first asked for, by the operations that use them: a wrong
   * retention or offsite setting must not stop a rollback at 2 a.m.
   */
  retention(): RetentionPolicy;
  /** BACKUP_SNAPSHOT_KEEP / _DAYS (DEPLOY_/MIGRATE_KEEP_BACKUPS for their tier), checked when first asked for. */
  snapshotRetention(): SnapshotPolicy;
  /** Undefined when OFFSITE_S3_BUCKET is unset. */
  offsite(): OffsiteSettings | undefined;
  /**
   * BACKUP_SNAPSHOT_IN_PLACE (yes): a restore keeps the Postgres, Redis and Milvus data it
   * replaces in place (renamed, not copied) as its snapshot; no: a full copy, as a backup.
   */
  snapshotInPlace(): boolean;
}

const memo = <T>(f: () => T): (() => T) => {
  let done: { value: T } | undefined;
  return () => {
    done ??= { value: f() };
    return done.value;
  };
};

/**
 * Pure: every section from the env values (`get`); `environ` (the process's environment)
 * overrides the settings the table lets the shell override, through the same checks.
 */
export function parseConfig(get: EnvGetter, environ: NodeJS.ProcessEnv = process.env): ClawConfig {
  const value = settingReader(get, environ);
  return {
    release: { image: value("CLAW_AI_IMAGE"), tag: value("CLAW_AI_TAG") },
    postgres: postgresSettings(get),
    flower: { user: value("FLOWER_USER"), password: value("FLOWER_PASSWORD") },
    encryption: encryptionSettings(get),
    notify: { webhookUrl: value("WEBHOOK_URL") },
    deploy: deploySettings(get, environ),
    migrate: migrateSettings(get, environ),
    retention: memo(() => retentionSettings(get)),
    snapshotRetention: memo(() => snapshotSettings(get)),
    offsite: memo(() => offsiteSettings(get)),
    snapshotInPlace: memo(() => value("BACKUP_SNAPSHOT_IN_PLACE")),
  };
}

/** What a section keeps for DEPLOY_/MIGRATE_KEEP_BACKUPS when unset (pruning reads snapshotRetention() instead). */
const KEEP_BACKUPS_AS_GIVEN_UNSET = 5;

export function deploySettings(get: EnvGetter, environ: NodeJS.ProcessEnv = process.env): DeploySettings {
  const value = settingReader(get, environ);
  return {
    domain: value("DEPLOY_DOMAIN") ?? value("DOMAIN"),
    email: value("DEPLOY_EMAIL"),
    keepReleases: value("DEPLOY_KEEP_RELEASES"),
    keepBackups: value("DEPLOY_KEEP_BACKUPS") ?? KEEP_BACKUPS_AS_GIVEN_UNSET,
    minFreeMb: value("DEPLOY_MIN_FREE_MB"),
    backupComponents: value("DEPLOY_BACKUP_COMPONENTS"),
  };
}

export function migrateSettings(get: EnvGetter, environ: NodeJS.ProcessEnv = process.env): MigrateSettings {
  // The environment wins over .env.prod: a one-off `MIGRATE_LOCK_TIMEOUT=30s npx zx scripts/migrate.mts`.
  const value = settingReader(get, environ);
  return {
    lint: value("MIGRATE_LINT"),
    lockTimeout: value("MIGRATE_LOCK_TIMEOUT"),
    statementTimeout: value("MIGRATE_STATEMENT_TIMEOUT"),
    lockWaitS: value("MIGRATE_LOCK_WAIT_S"),
    lockRetries: value("MIGRATE_LOCK_RETRIES"),
    expectTables: value("MIGRATE_EXPECT_TABLES"),
    command: value("MIGRATE_COMMAND"),
    extensions: value("MIGRATE_EXTENSIONS") ?? [],
    keepBackups: value("MIGRATE_KEEP_BACKUPS") ?? KEEP_BACKUPS_AS_GIVEN_UNSET,
  };
}

export function postgresSettings(get: EnvGetter): PostgresSettings {
  const value = settingReader(get);
  const need = (k: "POSTGRES_USER" | "POSTGRES_DB") => {
    const v = value(k);
    if (v === undefined) throw new PreconditionError(msg.project.config.keyProblem({ key: k, problem: msg.project.config.problems.missing }));
    return v;
  };
  return { user: need("POSTGRES_USER"), db: need("POSTGRES_DB"), compressionLevel: value("BACKUP_PG_COMPRESSION") };
}

/**
 * The policy from BACKUP_RETENTION_{DAILY,WEEKLY,MONTHLY}_DAYS; unset or empty means the
 * default. Anything but a positive whole number of days is refused, naming the key.
 */
export function retentionSettings(get: EnvGetter): RetentionPolicy {
  const value = settingReader(get);
  return {
    dailyDays: value("BACKUP_RETENTION_DAILY_DAYS"),
    weeklyDays: value("BACKUP_RETENTION_WEEKLY_DAYS"),
    monthlyDays: value("BACKUP_RETENTION_MONTHLY_DAYS"),
  };
}

/**
 * The snapshot policy: BACKUP_SNAPSHOT_KEEP (3) newest of each snapshot tier and every one
 * younger than BACKUP_SNAPSHOT_DAYS (7) days are kept. DEPLOY_KEEP_BACKUPS and
 * MIGRATE_KEEP_BACKUPS, when set, override the count for pre-deploy and pre-migrate.
 */
export function snapshotSettings(get: EnvGetter): SnapshotPolicy {
  const value = settingReader(get);
  const keep = value("BACKUP_SNAPSHOT_KEEP");
  const days = value("BACKUP_SNAPSHOT_DAYS");
  return {
    keep: {
      "pre-rollback": keep,
      "pre-restore": keep,
      "pre-deploy": value("DEPLOY_KEEP_BACKUPS") ?? keep,
      "pre-migrate": value("MIGRATE_KEEP_BACKUPS") ?? keep,
    },
    days,
  };
}

/**
 * The snapshot policy of an env file, read without the file's other checks: what `--list`
 * marks, which must list backups even when `.env.prod` is wrong.
 */
export function snapshotPolicyOf(envFile: string): SnapshotPolicy {
  const env = loadEnv(envFile, { validate: false });
  return snapshotSettings((k) => env.get(k));
}

export function encryptionSettings(get: EnvGetter): EncryptionSettings {
  const value = settingReader(get);
  return { recipients: value("BACKUP_AGE_RECIPIENTS") ?? [], key: value("BACKUP_ENCRYPTION_KEY") };
}

/** The offsite copy's settings, undefined when OFFSITE_S3_BUCKET is unset. */
export function offsiteSettings(get: EnvGetter): OffsiteSettings | undefined {
  if (!isSet(get, "OFFSITE_S3_BUCKET")) return undefined;
  const value = settingReader(get);
  const need = <K extends SettingName>(k: K) => {
    const v = value(k);
    if (v === undefined) throw new PreconditionError(msg.project.config.offsiteNeeds({ key: k }));
    return v as NonNullable<typeof v>;
  };
  const pathStyle = value("OFFSITE_S3_PATH_STYLE");
  const partMb = value("OFFSITE_S3_PART_MB");
  return {
    endpoint: need("OFFSITE_S3_ENDPOINT"),
    region: value("OFFSITE_S3_REGION"),
    bucket: need("OFFSITE_S3_BUCKET"),
    accessKey: need("OFFSITE_S3_ACCESS_KEY"),
    secretKey: need("OFFSITE_S3_SECRET_KEY"),
    pathStyle,
    prefix: value("OFFSITE_S3_PREFIX") ?? offsitePrefix(hostname()),
    partBytes: partMb * 1024 * 1024,
  };
}
