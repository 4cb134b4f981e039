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
  summary: "deploy or upgrade the CLAW.AI stack (docker-compose.prod.yml + .env.prod)",
  usage: ["npx zx scripts/deploy.mts [--tag <release>] [--dry-run] [-y]"],
  flags: {
    tag: { type: "string", value: "release", description: "backend image tag to deploy (default: CLAW_AI_TAG)" },
    "skip-backup": { type: "boolean", description: "do not take a backup before changing a running stack" },
    "skip-migrate": { type: "boolean", description: "do not run database migrations" },
    "dry-run": dryRun,
    yes: yes(),
  },
  examples: ["npx zx scripts/deploy.mts", "npx zx scripts/deploy.mts --tag 1.4.2 -y"],
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
  summary: "run the backend's database migrations (Alembic) safely",
  usage: ["npx zx scripts/migrate.mts [--dry-run] [-y]", "npx zx scripts/migrate.mts --status [--json]"],
  flags: {
    status: { type: "boolean", description: "show the current and the pending revisions" },
    "dry-run": dryRun,
    yes: yes(),
  },
  examples: ["npx zx scripts/migrate.mts", "npx zx scripts/migrate.mts --status"],
};
