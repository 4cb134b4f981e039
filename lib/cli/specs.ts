/**
 * The command-line surface of the four scripts: the deployment guide's flags, kept exactly,
 * plus what operators expect. Kept apart from the scripts so tests can parse against them.
 */
import type { FlagSpec, ScriptSpec } from "./flags.ts";

/** Flags several scripts share, described once. */
const identity: FlagSpec = {
  type: "string",
  value: "file",
  description: "age key file that decrypts encrypted backups (default: BACKUP_ENCRYPTION_KEY)",
};
const allowPlaintext: FlagSpec = { type: "boolean", description: "accept a backup that is not encrypted although .env.prod sets up encryption" };
/** What a restore reads a backup with: --restore and rollback alike. */
const restoreInputs: Readonly<Record<string, FlagSpec>> = { identity, "allow-plaintext": allowPlaintext };
const dryRun: FlagSpec = { type: "boolean", description: "print the plan, change nothing" };
const yes = (what = ""): FlagSpec => ({ type: "boolean", short: "y", description: `do not ask for confirmation${what}` });

export const deploySpec: ScriptSpec = {
  name: "deploy.mts",
  summary: "deploy a release of the CLAW.AI stack with no downtime (docker-compose.prod.yml + .env.prod)",
  usage: [
    "npx zx scripts/deploy.mts [--tag <release>] [--skip-backup] [--skip-migrations] [--skip-ssl] [--skip-health-check] [--dry-run] [-y]",
    "npx zx scripts/deploy.mts --rollback-release [<release id>] [--dry-run]",
    "npx zx scripts/deploy.mts --list-releases [--json] | --status [--json]",
  ],
  flags: {
    tag: { type: "string", value: "release", description: "backend image tag to deploy (default: CLAW_AI_TAG in .env.prod)" },
    "skip-backup": { type: "boolean", description: "no pre-deploy backup (backups/pre-deploy/)" },
    "skip-migrations": { type: "boolean", description: "do not run database migrations (alembic upgrade head)" },
    "skip-migrate": { type: "boolean", description: "the same as --skip-migrations" },
    "skip-ssl": { type: "boolean", description: "leave TLS alone (no certificate check, certbot or self-signed one)" },
    "skip-health-check": { type: "boolean", description: "skip the final check (every service healthy, /health through nginx)" },
    "check-dns": { type: "boolean", description: "preflight also refuses unless DOMAIN (DEPLOY_DOMAIN) resolves only to this host" },
    "restore-db-on-failure": {
      type: "boolean",
      description: "if the deploy fails after migrations ran, restore the database from the pre-deploy backup (writes since are lost)",
    },
    "rollback-release": { type: "boolean", description: "go back to a release of the ledger (default: the one before the current), no pull" },
    "list-releases": { type: "boolean", description: "the release ledger, newest first (* = serving)" },
    status: { type: "boolean", description: "what runs now: the release, each service's state and health, the last deploy" },
    "dry-run": { ...dryRun, description: "run the read-only checks and print the plan, change nothing" },
    yes: yes(" of the plan on a TTY (without a TTY a deploy goes ahead: it replaces no data)"),
  },
  positionals: { name: "release id", description: "with --rollback-release: the release to go back to (see --list-releases)", max: 1 },
  examples: [
    "npx zx scripts/deploy.mts --tag 1.4.2",
    "npx zx scripts/deploy.mts --tag 1.4.2 --dry-run",
    "npx zx scripts/deploy.mts --rollback-release",
    "npx zx scripts/deploy.mts --status",
  ],
};

export const backupSpec: ScriptSpec = {
  name: "backup.mts",
  summary: "tiered, verified backups of Postgres, Redis, Milvus (etcd + MinIO), uploads and config",
  usage: [
    "npx zx scripts/backup.mts [--db-only] [--no-upload] [--only <components>]",
    "npx zx scripts/backup.mts --restore <dir> [-y]",
    "npx zx scripts/backup.mts --list [--json] | --verify [<dir>] | --prune | --install-cron [<expr>]",
  ],
  flags: {
    "db-only": { type: "boolean", description: "back up PostgreSQL only" },
    "no-upload": { type: "boolean", description: "leave out the uploads directory" },
    only: { type: "string", value: "components", description: "comma-separated: postgres,redis,milvus,uploads,config" },
    restore: { type: "string", value: "dir", description: "restore everything from this backup" },
    list: { type: "boolean", description: "list backups, newest first" },
    verify: {
      type: "boolean",
      description:
        "restore drill of a backup (the newest by default): checksums, then every component restored into throwaway containers or a scratch dir and compared with the manifest",
    },
    prune: { type: "boolean", description: "apply the retention policy only" },
    "install-cron": { type: "boolean", description: "install the daily cron line (expression as argument, default '0 2 * * *')" },
    ...restoreInputs,
    "dry-run": dryRun,
    yes: yes(" (restore)"),
  },
  positionals: { name: "dir|expr", description: "backup directory for --verify, cron expression for --install-cron", max: 1 },
  examples: [
    "npx zx scripts/backup.mts",
    "npx zx scripts/backup.mts --restore backups/daily/20240215-020000",
    "npx zx scripts/backup.mts --install-cron '30 3 * * *'",
  ],
};

export const rollbackSpec: ScriptSpec = {
  name: "rollback.mts",
  summary: "roll the stack back to a backup, reversibly (a pre-rollback snapshot is taken first)",
  usage: [
    "npx zx scripts/rollback.mts --list [--json]",
    "npx zx scripts/rollback.mts [<index>] [--skip-db] [--skip-redis] [--skip-milvus] [--skip-uploads] [--skip-config] [-y]",
    "npx zx scripts/rollback.mts --backup <dir> [...]",
    "npx zx scripts/rollback.mts --undo [-y]",
  ],
  flags: {
    list: { type: "boolean", description: "list backups, newest first, with their index" },
    backup: { type: "string", value: "dir", description: "roll back to this backup directory (a snapshot too)" },
    undo: { type: "boolean", description: "undo the last rollback or restore: roll back to the snapshot it took (again: redo)" },
    "skip-db": { type: "boolean", description: "leave PostgreSQL untouched" },
    "skip-redis": { type: "boolean", description: "leave Redis untouched" },
    "skip-milvus": { type: "boolean", description: "leave Milvus (etcd + MinIO + Milvus) untouched" },
    "skip-uploads": { type: "boolean", description: "leave uploads untouched" },
    "skip-config": { type: "boolean", description: "leave configuration (.env.prod, compose, nginx, …) untouched" },
    ...restoreInputs,
    "dry-run": { ...dryRun, description: "print the exact plan, change nothing" },
    yes: yes(),
  },
  positionals: { name: "index", description: "backup index as shown by --list (1 = newest)", max: 1 },
  examples: [
    "npx zx scripts/rollback.mts 1 -y",
    "npx zx scripts/rollback.mts 1 --skip-redis --skip-milvus --skip-uploads      # database only",
    "npx zx scripts/rollback.mts 1 --skip-db --skip-redis --skip-milvus --skip-uploads   # configuration only",
  ],
};

export const migrateSpec: ScriptSpec = {
  name: "migrate.mts",
  summary: "run the backend's Alembic migrations safely: lock, lint, drift, pre-migrate backup, a failed run that changes nothing",
  usage: [
    "npx zx scripts/migrate.mts [--init] [--seed] [--skip-backup] [--dry-run]",
    "npx zx scripts/migrate.mts --fresh -y [--seed]",
    "npx zx scripts/migrate.mts --status [--json] | --lint",
    "npx zx scripts/migrate.mts --rollback <revision> [-y]",
  ],
  flags: {
    status: { type: "boolean", description: "the current and the pending revisions, drift; exit 0 at head, 6 pending, 7 database ahead" },
    lint: { type: "boolean", description: "lint the pending revisions only (squawk + claw-ops rules)" },
    init: { type: "boolean", description: "create the database and MIGRATE_EXTENSIONS if missing (then migrate)" },
    seed: { type: "boolean", description: "after migrating, apply seeds/*.sql, each once (tracked by sha256; an edited one is reported)" },
    fresh: {
      type: "boolean",
      description: "drop and create the database empty, then migrate: needs -y (and, on a TTY, typing its name); a backup first",
    },
    rollback: { type: "string", value: "revision", description: "downgrade to this revision (a pre-migrate backup first)" },
    "skip-backup": { type: "boolean", description: "no pre-migrate backup (backups/pre-migrate/)" },
    "dry-run": { ...dryRun, description: "the pending revisions, their SQL and the lint report; change nothing" },
    yes: yes(" (--rollback, --fresh)"),
  },
  examples: ["npx zx scripts/migrate.mts", "npx zx scripts/migrate.mts --status", "npx zx scripts/migrate.mts --rollback 0002 -y"],
};
