/**
 * `.env.prod`: loaded with dotenv (parse only: nothing leaks into process.env), checked
 * against a typed schema. Problems name the key, never the value.
 */
import { readFileSync, statSync } from "node:fs";
import { parse } from "dotenv";
import { PreconditionError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import { RELEASE_TAG } from "../core/names.ts";
import { registerSecretValue } from "../core/secret.ts";

export interface KeySpec {
  name: string;
  description: string;
  required: boolean;
  secret: boolean;
  minLength?: number;
  /** Values that are placeholders for this key in particular (besides the generic ones). */
  placeholders?: readonly string[];
  pattern?: RegExp;
}

const password = (name: string, description: string, extra: Partial<KeySpec> = {}): KeySpec => ({
  name,
  description,
  required: true,
  secret: true,
  minLength: 12,
  ...extra,
});

/** Every key the scripts read. The compose file's own ${VARS} are checked against the template by a test. */
export const ENV_SCHEMA: readonly KeySpec[] = [
  { name: "CLAW_AI_IMAGE", description: "backend image repository", required: true, secret: false },
  { name: "CLAW_AI_TAG", description: "backend release (image tag)", required: true, secret: false, pattern: RELEASE_TAG },
  {
    name: "POSTGRES_USER",
    description: "PostgreSQL user (lower-case letters, digits, _; at most 63)",
    required: true,
    secret: false,
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
  },
  password("POSTGRES_PASSWORD", "PostgreSQL password"),
  // At most 63 bytes: PostgreSQL truncates longer identifiers (NAMEDATALEN - 1).
  {
    name: "POSTGRES_DB",
    description: "PostgreSQL database (lower-case letters, digits, _; at most 63)",
    required: true,
    secret: false,
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
  },
  password("REDIS_PASSWORD", "Redis password"),
  password("SECRET_KEY", "JWT signing key (openssl rand -hex 32)", { minLength: 32 }),
  { name: "ZHIPUAI_API_KEY", description: "Zhipu AI API key", required: true, secret: true },
  { name: "PINECONE_API_KEY", description: "Pinecone API key", required: true, secret: true },
  { name: "MINIO_ROOT_USER", description: "MinIO root user", required: true, secret: false, minLength: 3, placeholders: ["minioadmin"] },
  password("MINIO_ROOT_PASSWORD", "MinIO root password", { placeholders: ["minioadmin"] }),
  { name: "GRAFANA_ADMIN_USER", description: "Grafana admin user", required: true, secret: false },
  password("GRAFANA_ADMIN_PASSWORD", "Grafana admin password", { placeholders: ["admin"] }),
  // One htpasswd line: a user without `:` or blanks, a password without line breaks.
  { name: "FLOWER_USER", description: "user for /flower/ basic auth", required: true, secret: false, pattern: /^[^:\s]+$/ },
  password("FLOWER_PASSWORD", "password for /flower/ basic auth", { pattern: /^[^\r\n]+$/ }),
  { name: "DOMAIN", description: "public host name", required: true, secret: false },
  { name: "DEPLOY_DOMAIN", description: "deploy: domain of the TLS certificate (default: DOMAIN)", required: false, secret: false },
  { name: "DEPLOY_EMAIL", description: "deploy: e-mail for Let's Encrypt (certbot)", required: false, secret: false },
  {
    name: "DEPLOY_KEEP_RELEASES",
    description: "deploy: images of this many releases are kept (5)",
    required: false,
    secret: false,
    pattern: /^[1-9]\d*$/,
  },
  {
    name: "DEPLOY_BACKUP_COMPONENTS",
    description: "deploy: components of the pre-deploy backup (postgres,redis,uploads,config; milvus pauses Milvus)",
    required: false,
    secret: false,
    pattern: /^[a-z,]*$/,
  },
  {
    name: "DEPLOY_KEEP_BACKUPS",
    description: "deploy: newest pre-deploy backups kept (default BACKUP_SNAPSHOT_KEEP)",
    required: false,
    secret: false,
    pattern: /^[1-9]\d*$/,
  },
  {
    name: "DEPLOY_MIN_FREE_MB",
    description: "deploy: refuse with less free disk than this (1024)",
    required: false,
    secret: false,
    pattern: /^\d+$/,
  },
  {
    name: "MIGRATE_LINT",
    description: "migrate: lint findings warn (default) or block (strict)",
    required: false,
    secret: false,
    pattern: /^(warn|strict)$/,
  },
  {
    name: "MIGRATE_LOCK_TIMEOUT",
    description: "migrate: lock_timeout of the migration sessions (5s; 0 = none)",
    required: false,
    secret: false,
    pattern: /^\d+(ms|s|min)?$/,
  },
  {
    name: "MIGRATE_STATEMENT_TIMEOUT",
    description: "migrate: statement_timeout of the migration sessions (0 = none)",
    required: false,
    secret: false,
    pattern: /^\d+(ms|s|min|h)?$/,
  },
  {
    name: "MIGRATE_LOCK_WAIT_S",
    description: "migrate: seconds to wait for another migration run to finish (60)",
    required: false,
    secret: false,
    pattern: /^\d+$/,
  },
  {
    name: "MIGRATE_LOCK_RETRIES",
    description: "migrate: retries of a revision that hit lock_timeout (3)",
    required: false,
    secret: false,
    pattern: /^\d+$/,
  },
  {
    name: "MIGRATE_EXPECT_TABLES",
    description: "migrate: tables that must exist after migrating (users,knowledge_base,conversations,messages)",
    required: false,
    secret: false,
    pattern: /^[A-Za-z0-9_.,]*$/,
  },
  {
    name: "MIGRATE_COMMAND",
    description: "migrate: the backend's own migration command when it does not use Alembic (argv, split on spaces; no shell)",
    required: false,
    secret: false,
  },
  {
    name: "MIGRATE_EXTENSIONS",
    description: "migrate --init: PostgreSQL extensions to create (comma-separated; optional)",
    required: false,
    secret: false,
    pattern: /^[A-Za-z0-9_,-]*$/,
  },
  {
    name: "MIGRATE_KEEP_BACKUPS",
    description: "migrate: newest pre-migrate backups kept (default BACKUP_SNAPSHOT_KEEP)",
    required: false,
    secret: false,
    pattern: /^[1-9]\d*$/,
  },
  { name: "HTTP_PORT", description: "host port for HTTP", required: false, secret: false, pattern: /^\d{1,5}$/ },
  { name: "HTTPS_PORT", description: "host port for HTTPS", required: false, secret: false, pattern: /^\d{1,5}$/ },
  { name: "BACKUP_RETENTION_DAILY_DAYS", description: "days to keep daily backups (7)", required: false, secret: false, pattern: /^\d+$/ },
  { name: "BACKUP_RETENTION_WEEKLY_DAYS", description: "days to keep weekly backups (30)", required: false, secret: false, pattern: /^\d+$/ },
  { name: "BACKUP_RETENTION_MONTHLY_DAYS", description: "days to keep monthly backups (365)", required: false, secret: false, pattern: /^\d+$/ },
  { name: "BACKUP_SNAPSHOT_KEEP", description: "newest snapshots kept per snapshot tier (3)", required: false, secret: false, pattern: /^\d+$/ },
  { name: "BACKUP_SNAPSHOT_DAYS", description: "days every snapshot is kept (7)", required: false, secret: false, pattern: /^\d+$/ },
  {
    name: "BACKUP_SNAPSHOT_IN_PLACE",
    description: "a restore keeps what it replaces in place as its snapshot (yes) or copies it (no)",
    required: false,
    secret: false,
    pattern: /^(yes|no|true|false|1|0)$/i,
  },
  { name: "WEBHOOK_URL", description: "notification webhook (optional)", required: false, secret: true, pattern: /^https?:\/\// },
  {
    name: "BACKUP_PG_COMPRESSION",
    description: "pg_dump's own zlib level 0-9 instead of zstd (default: zstd -3 when the image has it)",
    required: false,
    secret: false,
    pattern: /^[0-9]$/,
  },
  {
    name: "BACKUP_AGE_RECIPIENTS",
    description: "encrypt backups to these age recipients (age1…, comma-separated; optional)",
    required: false,
    secret: false,
  },
  {
    name: "BACKUP_ENCRYPTION_KEY",
    description: "encrypt and decrypt backups with this age key (AGE-SECRET-KEY-1…; optional)",
    required: false,
    secret: true,
  },
  { name: "OFFSITE_S3_ENDPOINT", description: "offsite copy: S3 endpoint URL", required: false, secret: false, pattern: /^https?:\/\// },
  { name: "OFFSITE_S3_REGION", description: "offsite copy: region (us-east-1)", required: false, secret: false },
  { name: "OFFSITE_S3_BUCKET", description: "offsite copy: bucket (empty: no offsite copy)", required: false, secret: false },
  { name: "OFFSITE_S3_PREFIX", description: "offsite copy: key prefix (host name)", required: false, secret: false },
  { name: "OFFSITE_S3_ACCESS_KEY", description: "offsite copy: access key id", required: false, secret: false },
  { name: "OFFSITE_S3_SECRET_KEY", description: "offsite copy: secret key", required: false, secret: true },
  {
    name: "OFFSITE_S3_PART_MB",
    description: "offsite copy: files larger than this many MiB go up in parts of this size (64; at least 5)",
    required: false,
    secret: false,
    pattern: /^\d+$/,
  },
  {
    name: "OFFSITE_S3_PATH_STYLE",
    description: "offsite copy: path-style URLs (true; false for Aliyun OSS)",
    required: false,
    secret: false,
    pattern: /^(true|false)$/,
  },
];

/** Template values that must never reach production. */
export function isPlaceholder(spec: KeySpec, value: string): boolean {
  const v = value.trim().toLowerCase();
  return (
    v.includes("change_this") ||
    v.includes("changeme") ||
    v.startsWith("your_") ||
    v.startsWith("your-") ||
    (spec.secret && (v === "password" || v === "secret")) ||
    (spec.placeholders ?? []).includes(v)
  );
}

export interface EnvProblem {
  key: string;
  problem: string;
}

/** Pure: every problem in a parsed env, by key. */
export function validateEnv(values: Readonly<Record<string, string>>, schema: readonly KeySpec[] = ENV_SCHEMA): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const spec of schema) {
    const value = values[spec.name];
    if (value === undefined || value.trim() === "") {
      if (spec.required) problems.push({ key: spec.name, problem: msg.project.env.problems.missing });
      continue;
    }
    if (isPlaceholder(spec, value)) problems.push({ key: spec.name, problem: msg.project.env.problems.placeholder });
    else if (spec.minLength && value.length < spec.minLength)
      problems.push({ key: spec.name, problem: msg.project.env.problems.tooShort({ min: spec.minLength }) });
    else if (spec.pattern && !spec.pattern.test(value)) problems.push({ key: spec.name, problem: msg.project.env.problems.badFormat });
  }
  return problems;
}

/**
 * Pure: values that Compose would read differently from us (dotenv), by key. Compose keeps a
 * `#` that no blank precedes (`PW=ab#cd` is `ab#cd` to Compose, `ab` to dotenv) and expands
 * `$NAME` in unquoted and double-quoted values: the containers would get another value than
 * the one we check and mask. Single quotes mean the same, literally, to both.
 */
export function composeDisagreements(text: string): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, raw] = m as unknown as [string, string, string];
    if (raw.startsWith("'")) continue;
    const quoted = raw.startsWith('"');
    const value = quoted ? raw.slice(1) : raw.split(/\s#/)[0]!;
    // In double quotes Compose decodes backslash escapes and dotenv keeps them as they are.
    if (quoted && value.includes("\\"))
      problems.push({
        key,
        problem: msg.project.env.problems.backslashInDoubleQuotes,
      });
    else if (/\$/.test(quoted ? value.slice(0, Math.max(0, value.lastIndexOf('"'))) : value))
      problems.push({ key, problem: msg.project.env.problems.dollar });
    else if (!quoted && value.includes("#")) problems.push({ key, problem: msg.project.env.problems.hash });
  }
  return problems;
}

export class ClawEnv {
  constructor(
    readonly file: string,
    private readonly values: Readonly<Record<string, string>>,
  ) {
    for (const spec of ENV_SCHEMA) if (spec.secret && values[spec.name]) registerSecretValue(values[spec.name]!);
  }
  /** The raw value, for Compose-style interpolation; settings are read typed from project.config. */
  get(name: string): string | undefined {
    return this.values[name];
  }
}

/** Load and validate `.env.prod`. Throws a PreconditionError that names keys, never values. */
export function loadEnv(file: string, o: { validate?: boolean } = {}): ClawEnv {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new PreconditionError(msg.project.env.notFound({ file }), msg.project.env.notFoundHint);
  }
  if ((mode & 0o077) !== 0) {
    throw new PreconditionError(msg.project.env.readableByOthers({ file, mode: (mode & 0o777).toString(8) }), `chmod 600 ${file}`);
  }
  const text = readFileSync(file, "utf8");
  const values = parse(text);
  const env = new ClawEnv(file, values);
  if (o.validate !== false) {
    const problems = [...composeDisagreements(text), ...validateEnv(values)];
    if (problems.length > 0) {
      const first = problems[0]!;
      const more = problems.slice(1).map((p) => p.key);
      throw new PreconditionError(msg.project.env.invalid({ file, key: first.key, problem: first.problem, more }), msg.project.env.invalidHint);
    }
  }
  return env;
}

/**
 * Pure: the env file text with `key` set to `value` (a plain token: no quoting needed). The
 * last line that sets it is replaced in place (dotenv and Compose both take the last), every
 * other byte is kept; without one, the line is appended.
 */
export function withEnvValue(text: string, key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || !/^[A-Za-z0-9_.:/@-]*$/.test(value)) throw new Error(msg.project.env.notPlainAssignment({ key }));
  const lines = text.split("\n");
  const re = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`);
  let at = -1;
  lines.forEach((l, i) => {
    if (re.test(l)) at = i;
  });
  if (at >= 0) {
    lines[at] = `${key}=${value}${lines[at]!.endsWith("\r") ? "\r" : ""}`;
    return lines.join("\n");
  }
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${body}${key}=${value}\n`;
}

/** Set one key of the env file in place: atomic replace, mode 0600 kept. */
export function setEnvValue(file: string, key: string, value: string): void {
  writeFileAtomic(file, withEnvValue(readFileSync(file, "utf8"), key, value), 0o600);
}
