/**
 * THE table of settings: every key of `.env.prod` the compose file or the scripts read, with
 * its type, default, secrecy, readers and one line of documentation. From it come the checks
 * of `.env.prod` when it is loaded (env.ts), the typed values `project.config` hands out
 * (config.ts), and the README's settings table and the template's check (settings-doc.ts).
 * Its order is the order problems are reported in.
 */
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { RELEASE_TAG } from "../core/names.ts";
import { ageKey, backupComponents, checkBucket, checkEndpoint, offsitePrefix, parseRecipients } from "./setting-checks.ts";
import {
  argv,
  bool,
  duration,
  type EnvGetter,
  int,
  keyProblem,
  list,
  oneOf,
  password,
  readSetting,
  type Setting,
  secret,
  text,
  url,
} from "./setting-types.ts";

// At most 63 bytes: PostgreSQL truncates longer identifiers (NAMEDATALEN - 1).
const PG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The n of the hint of a per-tier count: BACKUP_SNAPSHOT_KEEP's default. */
function snapshotKeepDefault(): number {
  return Number(setting("BACKUP_SNAPSHOT_KEEP").default);
}
const tierHint = (key: string) => () => msg.project.config.tierHint({ key, n: snapshotKeepDefault() });

export const SETTINGS = [
  text("CLAW_AI_IMAGE", {
    required: true,
    sections: ["compose", "release"],
    doc: "the backend image's repository (backend, Celery and Flower run it)",
  }),
  text("CLAW_AI_TAG", {
    required: true,
    format: RELEASE_TAG,
    sections: ["compose", "release"],
    doc: "the release: the backend image's tag (deploy.mts writes it)",
  }),
  text("POSTGRES_USER", { required: true, format: PG_NAME, sections: ["compose", "postgres"], doc: "PostgreSQL user (a-z, 0-9, _; at most 63)" }),
  password("POSTGRES_PASSWORD", { sections: ["compose"], doc: "PostgreSQL password" }),
  text("POSTGRES_DB", { required: true, format: PG_NAME, sections: ["compose", "postgres"], doc: "PostgreSQL database (a-z, 0-9, _; at most 63)" }),
  password("REDIS_PASSWORD", { sections: ["compose"], doc: "Redis password" }),
  password("SECRET_KEY", { minLength: 32, sections: ["compose"], doc: "the backend's JWT signing key (openssl rand -hex 32)" }),
  secret("ZHIPUAI_API_KEY", { required: true, sections: ["compose"], doc: "Zhipu AI API key" }),
  secret("PINECONE_API_KEY", { required: true, sections: ["compose"], doc: "Pinecone API key" }),
  text("MINIO_ROOT_USER", {
    required: true,
    minLength: 3,
    placeholders: ["minioadmin"],
    sections: ["compose"],
    doc: "MinIO root user (Milvus' object storage); never minioadmin",
  }),
  password("MINIO_ROOT_PASSWORD", { placeholders: ["minioadmin"], sections: ["compose"], doc: "MinIO root password" }),
  text("GRAFANA_ADMIN_USER", { required: true, sections: ["compose"], doc: "Grafana admin user (https://DOMAIN/grafana/)" }),
  password("GRAFANA_ADMIN_PASSWORD", { placeholders: ["admin"], sections: ["compose"], doc: "Grafana admin password" }),
  // One htpasswd line: a user without `:` or blanks, a password without line breaks.
  text("FLOWER_USER", { required: true, format: /^[^:\s]+$/, sections: ["compose", "flower"], doc: "user of /flower/'s basic auth" }),
  password("FLOWER_PASSWORD", { format: /^[^\r\n]+$/, sections: ["compose", "flower"], doc: "password of /flower/'s basic auth (nginx/.htpasswd)" }),
  text("DOMAIN", { required: true, shell: true, sections: ["compose", "deploy"], doc: "the public host name" }),
  text("DEPLOY_DOMAIN", { shell: true, derivedDefault: "that of `DOMAIN`", sections: ["deploy"], doc: "the TLS certificate's domain" }),
  text("DEPLOY_EMAIL", { shell: true, sections: ["deploy"], doc: "e-mail for Let's Encrypt (certbot is used only with one)" }),
  int("DEPLOY_KEEP_RELEASES", {
    min: 1,
    default: "5",
    sections: ["deploy"],
    doc: "images of this many releases stay on the host (rollback without a pull)",
  }),
  list("DEPLOY_BACKUP_COMPONENTS", {
    default: "postgres,redis,uploads,config",
    format: /^[a-z,]*$/,
    parse: backupComponents,
    sections: ["deploy"],
    doc: "components of the pre-deploy backup (milvus pauses Milvus)",
  }),
  int("DEPLOY_KEEP_BACKUPS", {
    min: 1,
    unit: "backups",
    hint: tierHint("DEPLOY_KEEP_BACKUPS"),
    derivedDefault: "that of `BACKUP_SNAPSHOT_KEEP`",
    sections: ["deploy", "snapshotRetention"],
    doc: "the newest pre-deploy backups kept",
  }),
  int("DEPLOY_MIN_FREE_MB", {
    default: "1024",
    sections: ["deploy"],
    doc: "a deploy refuses with less free disk (MB) under the project or Docker's root",
  }),
  oneOf("MIGRATE_LINT", ["warn", "strict"], {
    default: "warn",
    shell: true,
    sections: ["migrate"],
    doc: "lint findings warn, or block every migration",
  }),
  duration("MIGRATE_LOCK_TIMEOUT", ["ms", "s", "min"], {
    default: "5s",
    shell: true,
    sections: ["migrate"],
    doc: "lock_timeout of the migration sessions (0: none)",
  }),
  duration("MIGRATE_STATEMENT_TIMEOUT", ["ms", "s", "min", "h"], {
    default: "0",
    shell: true,
    sections: ["migrate"],
    doc: "statement_timeout of the migration sessions (0: none)",
  }),
  int("MIGRATE_LOCK_WAIT_S", { default: "60", shell: true, sections: ["migrate"], doc: "seconds to wait for another migration run's advisory lock" }),
  int("MIGRATE_LOCK_RETRIES", { default: "3", shell: true, sections: ["migrate"], doc: "retries of a revision that hit lock_timeout" }),
  list("MIGRATE_EXPECT_TABLES", {
    default: "users,knowledge_base,conversations,messages",
    format: /^[A-Za-z0-9_.,]*$/,
    shell: true,
    sections: ["migrate"],
    doc: "tables that must exist after migrating",
  }),
  argv("MIGRATE_COMMAND", {
    shell: true,
    sections: ["migrate"],
    doc: "a backend without Alembic: its own migration command, in a one-off container of its image (split on blanks, no shell)",
  }),
  list("MIGRATE_EXTENSIONS", { format: /^[A-Za-z0-9_,-]*$/, sections: ["migrate"], doc: "PostgreSQL extensions migrate.mts --init creates" }),
  int("MIGRATE_KEEP_BACKUPS", {
    min: 1,
    unit: "backups",
    hint: tierHint("MIGRATE_KEEP_BACKUPS"),
    derivedDefault: "that of `BACKUP_SNAPSHOT_KEEP`",
    sections: ["migrate", "snapshotRetention"],
    doc: "the newest pre-migrate backups kept",
  }),
  int("HTTP_PORT", { default: "80", format: /^\d{1,5}$/, sections: ["compose"], doc: "nginx's HTTP port on the host" }),
  int("HTTPS_PORT", { default: "443", format: /^\d{1,5}$/, sections: ["compose"], doc: "nginx's HTTPS port on the host" }),
  int("BACKUP_RETENTION_DAILY_DAYS", {
    min: 1,
    unit: "days",
    format: /^\d+$/,
    default: "7",
    sections: ["retention"],
    doc: "days daily backups are kept",
  }),
  int("BACKUP_RETENTION_WEEKLY_DAYS", {
    min: 1,
    unit: "days",
    format: /^\d+$/,
    default: "30",
    sections: ["retention"],
    doc: "days weekly backups are kept",
  }),
  int("BACKUP_RETENTION_MONTHLY_DAYS", {
    min: 1,
    unit: "days",
    format: /^\d+$/,
    default: "365",
    sections: ["retention"],
    doc: "days monthly backups are kept",
  }),
  int("BACKUP_SNAPSHOT_KEEP", {
    min: 1,
    unit: "snapshots",
    format: /^\d+$/,
    default: "3",
    sections: ["snapshotRetention"],
    doc: "the newest snapshots kept of each tier (pre-rollback, pre-restore, pre-deploy, pre-migrate)",
  }),
  int("BACKUP_SNAPSHOT_DAYS", {
    min: 1,
    unit: "days",
    format: /^\d+$/,
    default: "7",
    sections: ["snapshotRetention"],
    doc: "every snapshot younger than this many days is kept too",
  }),
  bool("BACKUP_SNAPSHOT_IN_PLACE", {
    default: "yes",
    sections: ["snapshotInPlace"],
    doc: "a restore keeps the data it replaces in place as its snapshot (no: a full copy)",
  }),
  url("WEBHOOK_URL", { secret: true, sections: ["notify"], doc: "JSON POST on success and failure of backups, restores and deploys" }),
  int("BACKUP_PG_COMPRESSION", {
    max: 9,
    format: /^[0-9]$/,
    derivedDefault: "zstd -3 (when the image has zstd)",
    refusal: () => keyProblem("BACKUP_PG_COMPRESSION", msg.project.config.problems.zlibLevel, msg.project.config.zlibLevelHint),
    sections: ["postgres"],
    doc: "pg_dump's own zlib at this level instead of zstd",
  }),
  list("BACKUP_AGE_RECIPIENTS", {
    parse: parseRecipients,
    sections: ["encryption"],
    doc: "encrypt backups to these age public keys (age1…, comma-separated)",
  }),
  secret("BACKUP_ENCRYPTION_KEY", {
    parse: ageKey,
    sections: ["encryption"],
    doc: "encrypt and decrypt backups with this age key (AGE-SECRET-KEY-1…)",
  }),
  url("OFFSITE_S3_ENDPOINT", { parse: checkEndpoint, sections: ["offsite"], doc: "offsite copy: the S3 endpoint (an http(s) origin)" }),
  text("OFFSITE_S3_REGION", { default: "us-east-1", sections: ["offsite"], doc: "offsite copy: region" }),
  text("OFFSITE_S3_BUCKET", { parse: checkBucket, sections: ["offsite"], doc: "offsite copy: bucket (unset: no offsite copy)" }),
  text("OFFSITE_S3_PREFIX", { parse: offsitePrefix, derivedDefault: "the host name", sections: ["offsite"], doc: "offsite copy: key prefix" }),
  text("OFFSITE_S3_ACCESS_KEY", { sections: ["offsite"], doc: "offsite copy: access key id" }),
  secret("OFFSITE_S3_SECRET_KEY", { sections: ["offsite"], doc: "offsite copy: secret key" }),
  int("OFFSITE_S3_PART_MB", {
    min: 5,
    format: /^\d+$/,
    default: "64",
    refusal: () => new PreconditionError(msg.project.config.partMb),
    sections: ["offsite"],
    doc: "offsite copy: files larger than this many MiB go up in parts of this size",
  }),
  bool("OFFSITE_S3_PATH_STYLE", {
    words: ["true", "false"],
    default: "true",
    sections: ["offsite"],
    doc: "offsite copy: path-style URLs (false for Aliyun OSS)",
  }),
] as const;

type Table = (typeof SETTINGS)[number];
export type SettingName = Table["name"];
type Entry<K extends SettingName> = Extract<Table, { name: K }>;
/** The type of a setting's value: T, or T | undefined when it has no default. */
export type SettingValue<K extends SettingName> = Entry<K> extends Setting<K, infer T, infer D> ? (D extends true ? T : T | undefined) : never;

const BY_NAME: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.name, s as Setting]));

export function setting<K extends SettingName>(name: K): Entry<K> {
  return BY_NAME.get(name) as Entry<K>;
}

/** A setting's default as its typed value. */
export function settingDefault<K extends SettingName>(name: K): SettingValue<K> {
  const s = BY_NAME.get(name)!;
  return (s.default === undefined ? undefined : s.parse(s.default)) as SettingValue<K>;
}

/**
 * The typed values of one `.env.prod` (`get`), the shell's environment overriding the
 * settings that allow it (`environ`; none when not given).
 */
export function settingReader(get: EnvGetter, environ: NodeJS.ProcessEnv = {}): <K extends SettingName>(name: K) => SettingValue<K> {
  return (name) => readSetting(BY_NAME.get(name)!, get, environ) as SettingValue<typeof name>;
}

/** Whether `.env.prod` sets a key (to anything but blanks). */
export const isSet = (get: EnvGetter, name: SettingName): boolean => (get(name) ?? "").trim() !== "";
