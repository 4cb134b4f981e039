/**
 * The typed configuration: `.env.prod` read once into sections (postgres, retention,
 * encryption, offsite, notifications), each value checked and defaulted here, with errors
 * that name the key and never the value. Nothing below the scripts re-parses env strings.
 */
import { hostname } from "node:os";
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { Secret } from "../core/secret.ts";
import { COMPONENTS, type ComponentName, isComponentName } from "../core/vocabulary/components.ts";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import type { S3Config } from "../infra/s3.ts";
import { ENV_SCHEMA, validateEnv } from "./env.ts";

export type EnvGetter = (key: string) => string | undefined;

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

export const DEFAULT_POLICY: RetentionPolicy = Object.freeze({ dailyDays: 7, weeklyDays: 30, monthlyDays: 365 });

/**
 * Snapshot retention: per tier, the newest `keep[tier]` are kept, and every one younger than
 * `days` days; the rest is pruned (the undo record's snapshot never is).
 */
export interface SnapshotPolicy {
  keep: Record<SnapshotTier, number>;
  days: number;
}

export const DEFAULT_SNAPSHOT_KEEP = 3;
export const DEFAULT_SNAPSHOT_DAYS = 7;

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
  /** DEPLOY_BACKUP_COMPONENTS, when set; else deploy's default (everything but Milvus). */
  backupComponents: ComponentName[] | undefined;
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
  postgres: PostgresSettings;
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

const bad = (key: string, problem: string, hint?: string) => new PreconditionError(msg.project.config.keyProblem({ key, problem }), hint);

/** Pure: every section from the env values. */
export function parseConfig(get: EnvGetter): ClawConfig {
  return {
    postgres: postgresSettings(get),
    encryption: encryptionSettings(get),
    notify: { webhookUrl: get("WEBHOOK_URL") || undefined },
    deploy: deploySettings(get),
    migrate: migrateSettings(get),
    retention: memo(() => retentionSettings(get)),
    snapshotRetention: memo(() => snapshotSettings(get)),
    offsite: memo(() => offsiteSettings(get)),
    snapshotInPlace: memo(() => yesNo(get, "BACKUP_SNAPSHOT_IN_PLACE", true)),
  };
}

/** A yes/no setting (yes, no, true, false, 1, 0), `dflt` when unset. */
export function yesNo(get: EnvGetter, key: string, dflt: boolean): boolean {
  const v = (get(key) ?? "").trim().toLowerCase();
  if (v === "") return dflt;
  if (["yes", "true", "1"].includes(v)) return true;
  if (["no", "false", "0"].includes(v)) return false;
  throw bad(
    key,
    msg.project.config.problems.yesOrNo({ value: JSON.stringify(get(key)) }),
    msg.project.config.yesNoHint({ key, dflt: dflt ? "yes" : "no" }),
  );
}

/**
 * A setting the shell's environment may override (a one-off `MIGRATE_LOCK_TIMEOUT=30s …`):
 * the override passes the same schema rule as `.env.prod`'s value, since both reach SQL,
 * PGOPTIONS or argv.
 */
function overridable(get: EnvGetter, environ: NodeJS.ProcessEnv): (k: string) => string | undefined {
  return (k) => {
    const v = environ[k] || get(k) || undefined;
    if (v === undefined || !environ[k]) return v;
    const [problem] = validateEnv(
      { [k]: v },
      ENV_SCHEMA.filter((s) => s.name === k),
    );
    if (problem) throw bad(k, problem.problem);
    return v;
  };
}

export function deploySettings(get: EnvGetter, environ: NodeJS.ProcessEnv = process.env): DeploySettings {
  const pick = overridable(get, environ);
  const int = (k: string, dflt: number) => {
    const v = get(k);
    return v ? Number(v) : dflt;
  };
  return {
    domain: pick("DEPLOY_DOMAIN") ?? pick("DOMAIN"),
    email: pick("DEPLOY_EMAIL"),
    keepReleases: int("DEPLOY_KEEP_RELEASES", 5),
    keepBackups: int("DEPLOY_KEEP_BACKUPS", 5),
    minFreeMb: int("DEPLOY_MIN_FREE_MB", 1024),
    backupComponents: deployBackupComponents(get("DEPLOY_BACKUP_COMPONENTS")),
  };
}

function deployBackupComponents(v: string | undefined): DeploySettings["backupComponents"] {
  if (!v) return undefined;
  const names = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.find((n) => !isComponentName(n));
  if (unknown || !names.length)
    throw bad(
      "DEPLOY_BACKUP_COMPONENTS",
      unknown ? msg.project.config.problems.unknownComponent({ name: JSON.stringify(unknown) }) : msg.project.config.problems.namesNothing,
      msg.project.config.componentsHint({ names: COMPONENTS.join(",") }),
    );
  return names as DeploySettings["backupComponents"];
}

export function migrateSettings(get: EnvGetter, environ: NodeJS.ProcessEnv = process.env): MigrateSettings {
  // The environment wins over .env.prod: a one-off `MIGRATE_LOCK_TIMEOUT=30s` before migrate.mts.
  const pick = overridable(get, environ);
  const lint = pick("MIGRATE_LINT");
  if (lint !== undefined && lint !== "warn" && lint !== "strict") throw bad("MIGRATE_LINT", msg.project.config.problems.warnOrStrict);
  return {
    lint: lint ?? "warn",
    lockTimeout: pick("MIGRATE_LOCK_TIMEOUT") ?? "5s",
    statementTimeout: pick("MIGRATE_STATEMENT_TIMEOUT") ?? "0",
    lockWaitS: Number(pick("MIGRATE_LOCK_WAIT_S") ?? 60),
    lockRetries: Number(pick("MIGRATE_LOCK_RETRIES") ?? 3),
    expectTables: (pick("MIGRATE_EXPECT_TABLES") ?? "users,knowledge_base,conversations,messages")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    command: pick("MIGRATE_COMMAND")?.trim() ? pick("MIGRATE_COMMAND")!.trim().split(/\s+/) : undefined,
    extensions: (get("MIGRATE_EXTENSIONS") ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    keepBackups: Number(get("MIGRATE_KEEP_BACKUPS") || 5),
  };
}

export function postgresSettings(get: EnvGetter): PostgresSettings {
  const need = (k: string) => {
    const v = get(k);
    if (!v) throw bad(k, msg.project.config.problems.missing);
    return v;
  };
  const level = get("BACKUP_PG_COMPRESSION")?.trim();
  if (level && !/^[0-9]$/.test(level)) throw bad("BACKUP_PG_COMPRESSION", msg.project.config.problems.zlibLevel, msg.project.config.zlibLevelHint);
  return { user: need("POSTGRES_USER"), db: need("POSTGRES_DB"), compressionLevel: level ? Number(level) : undefined };
}

const RETENTION_KEYS: ReadonlyArray<readonly [keyof RetentionPolicy, string]> = [
  ["dailyDays", "BACKUP_RETENTION_DAILY_DAYS"],
  ["weeklyDays", "BACKUP_RETENTION_WEEKLY_DAYS"],
  ["monthlyDays", "BACKUP_RETENTION_MONTHLY_DAYS"],
];

/**
 * The policy from BACKUP_RETENTION_{DAILY,WEEKLY,MONTHLY}_DAYS; unset or empty means the
 * default. Anything but a positive whole number of days is refused, naming the key.
 */
export function retentionSettings(get: EnvGetter): RetentionPolicy {
  const policy: RetentionPolicy = { ...DEFAULT_POLICY };
  for (const [field, key] of RETENTION_KEYS) {
    const raw = get(key)?.trim();
    if (raw === undefined || raw === "") continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new PreconditionError(
        msg.project.config.positiveWhole({ key, unit: msg.project.config.units.days }),
        msg.project.config.defaultHint({ key, n: DEFAULT_POLICY[field] }),
      );
    }
    policy[field] = n;
  }
  return policy;
}

/** A positive whole number from `key`, or undefined when it is unset or empty; anything else is refused, naming the key. */
function positiveInt(get: EnvGetter, key: string, unit: string, hint: string): number | undefined {
  const raw = get(key)?.trim();
  if (raw === undefined || raw === "") return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new PreconditionError(msg.project.config.positiveWhole({ key, unit }), hint);
  return n;
}

/**
 * The snapshot policy: BACKUP_SNAPSHOT_KEEP (3) newest of each snapshot tier and every one
 * younger than BACKUP_SNAPSHOT_DAYS (7) days are kept. DEPLOY_KEEP_BACKUPS and
 * MIGRATE_KEEP_BACKUPS, when set, override the count for pre-deploy and pre-migrate.
 */
export function snapshotSettings(get: EnvGetter): SnapshotPolicy {
  const dflt = (key: string, n: number) => msg.project.config.defaultHint({ key, n });
  const tier = (key: string) => msg.project.config.tierHint({ key, n: DEFAULT_SNAPSHOT_KEEP });
  const units = msg.project.config.units;
  const keep =
    positiveInt(get, "BACKUP_SNAPSHOT_KEEP", units.snapshots, dflt("BACKUP_SNAPSHOT_KEEP", DEFAULT_SNAPSHOT_KEEP)) ?? DEFAULT_SNAPSHOT_KEEP;
  const days = positiveInt(get, "BACKUP_SNAPSHOT_DAYS", units.days, dflt("BACKUP_SNAPSHOT_DAYS", DEFAULT_SNAPSHOT_DAYS)) ?? DEFAULT_SNAPSHOT_DAYS;
  return {
    keep: {
      "pre-rollback": keep,
      "pre-restore": keep,
      "pre-deploy": positiveInt(get, "DEPLOY_KEEP_BACKUPS", units.backups, tier("DEPLOY_KEEP_BACKUPS")) ?? keep,
      "pre-migrate": positiveInt(get, "MIGRATE_KEEP_BACKUPS", units.backups, tier("MIGRATE_KEEP_BACKUPS")) ?? keep,
    },
    days,
  };
}

const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const AGE_KEY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** Recipients from BACKUP_AGE_RECIPIENTS (comma or space separated). */
export function parseRecipients(text: string | undefined): string[] {
  const list = (text ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = list.find((r) => !RECIPIENT.test(r));
  if (wrong) {
    throw new PreconditionError(
      msg.project.config.notRecipient({ start: JSON.stringify(`${wrong.slice(0, 12)}…`) }),
      msg.project.config.notRecipientHint,
    );
  }
  return list;
}

/** Refuses anything but an age secret key (AGE-SECRET-KEY-1…). */
export function checkAgeKey(text: string): void {
  if (!AGE_KEY.test(text.trim())) throw new PreconditionError(msg.project.config.notAgeKey, msg.project.config.notAgeKeyHint);
}

export function encryptionSettings(get: EnvGetter): EncryptionSettings {
  const recipients = parseRecipients(get("BACKUP_AGE_RECIPIENTS"));
  const keyText = get("BACKUP_ENCRYPTION_KEY")?.trim();
  if (!keyText) return { recipients, key: undefined };
  checkAgeKey(keyText);
  return { recipients, key: new Secret(keyText) };
}

/** The offsite copy's settings, undefined when OFFSITE_S3_BUCKET is unset. */
export function offsiteSettings(get: EnvGetter): OffsiteSettings | undefined {
  const bucket = get("OFFSITE_S3_BUCKET");
  if (!bucket) return undefined;
  const need = (k: string) => {
    const v = get(k);
    if (!v) throw new PreconditionError(msg.project.config.offsiteNeeds({ key: k }));
    return v;
  };
  const style = get("OFFSITE_S3_PATH_STYLE") ?? "true";
  if (!["true", "false"].includes(style)) throw new PreconditionError(msg.project.config.pathStyle);
  const mb = get("OFFSITE_S3_PART_MB");
  const partMb = mb ? Number(mb) : 64;
  if (!Number.isInteger(partMb) || partMb < 5) {
    throw new PreconditionError(msg.project.config.partMb);
  }
  return {
    endpoint: checkEndpoint(need("OFFSITE_S3_ENDPOINT")),
    region: get("OFFSITE_S3_REGION") || "us-east-1",
    bucket: checkBucket(bucket),
    accessKey: need("OFFSITE_S3_ACCESS_KEY"),
    secretKey: new Secret(need("OFFSITE_S3_SECRET_KEY")),
    pathStyle: style === "true",
    prefix: checkPrefix((get("OFFSITE_S3_PREFIX") || hostname()).replace(/^\/+|\/+$/g, "")),
    partBytes: partMb * 1024 * 1024,
  };
}

/**
 * S3's bucket naming rules (3-63 lower-case letters, digits, dots and hyphens): a bucket name
 * goes into the request's host name (virtual-hosted style) or path, so `#`, `@` or `/` would
 * send the request elsewhere.
 */
export function checkBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new PreconditionError(msg.project.config.bucket);
  }
  return bucket;
}

/** Key prefix segments of letters, digits, `.`, `_`, `-`; never `.` or `..` (no other path, no other host). */
export function checkPrefix(prefix: string): string {
  const segments = prefix.split("/");
  if (prefix === "" || segments.some((s) => s === "" || s === "." || s === ".." || !/^[A-Za-z0-9._-]+$/.test(s))) {
    throw new PreconditionError(msg.project.config.prefix);
  }
  return prefix;
}

/** An http(s) origin: no user info, path, query or fragment that would change where requests go. */
export function checkEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new PreconditionError(msg.project.config.endpointNotUrl);
  }
  if (
    !/^https?:$/.test(u.protocol) ||
    u.username ||
    u.password ||
    (u.pathname !== "/" && u.pathname !== "") ||
    u.search ||
    u.hash ||
    endpoint.includes("@")
  ) {
    throw new PreconditionError(msg.project.config.endpointOrigin);
  }
  return endpoint;
}
