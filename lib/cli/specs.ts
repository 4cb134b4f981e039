/**
 * The command-line surface of the four scripts: the deployment guide's flags, kept exactly,
 * plus what operators expect. Kept apart from the scripts so tests can parse against them.
 */
import { msg } from "../core/i18n/index.ts";
import { operatorCommand, SCRIPTS, type ScriptName, scriptCommand } from "../core/vocabulary/scripts.ts";
import type { FlagSpec, ScriptSpec } from "./flags.ts";

/** Evaluated once at start-up, in the operator's language. */
const m = msg.cli.spec;

/** Flags several scripts share, described once. */
const identity: FlagSpec = {
  type: "string",
  value: "file",
  description: m.identity,
};
const allowPlaintext: FlagSpec = { type: "boolean", description: m.allowPlaintext };
/** What a restore reads a backup with: --restore and rollback alike. */
const restoreInputs: Readonly<Record<string, FlagSpec>> = { identity, "allow-plaintext": allowPlaintext };
const dryRun: FlagSpec = { type: "boolean", description: m.dryRun };
const yes = (description: string = m.yes): FlagSpec => ({ type: "boolean", short: "y", description });
/** A usage line: the script's command, then its synopsis (metasyntax, not words to quote). */
const usage = (script: ScriptName, synopsis: string) => `${scriptCommand(script)} ${synopsis}`;
/** An example with its comment, the comments of one help aligned. */
const commented = (command: string, comment: string) => `${command.padEnd(92)}# ${comment}`;

export const deploySpec: ScriptSpec = {
  name: SCRIPTS.deploy,
  summary: m.deploy.summary,
  usage: [
    usage(SCRIPTS.deploy, "[--tag <release>] [--skip-backup] [--skip-migrations] [--skip-ssl] [--skip-health-check] [--dry-run] [-y]"),
    usage(SCRIPTS.deploy, "--rollback-release [<release id>] [--dry-run]"),
    usage(SCRIPTS.deploy, "--list-releases [--json] | --status [--json]"),
  ],
  flags: {
    tag: { type: "string", value: "release", description: m.deploy.tag },
    "skip-backup": { type: "boolean", description: m.deploy.skipBackup },
    "skip-migrations": { type: "boolean", description: m.deploy.skipMigrations },
    "skip-migrate": { type: "boolean", description: m.deploy.skipMigrate },
    "skip-ssl": { type: "boolean", description: m.deploy.skipSsl },
    "skip-health-check": { type: "boolean", description: m.deploy.skipHealthCheck },
    "check-dns": { type: "boolean", description: m.deploy.checkDns },
    "restore-db-on-failure": {
      type: "boolean",
      description: m.deploy.restoreDbOnFailure,
    },
    "rollback-release": { type: "boolean", description: m.deploy.rollbackRelease },
    "list-releases": { type: "boolean", description: m.deploy.listReleases },
    status: { type: "boolean", description: m.deploy.status },
    "dry-run": { ...dryRun, description: m.deploy.dryRun },
    yes: yes(m.deploy.yes),
  },
  positionals: { name: m.deploy.releaseId, description: m.deploy.releaseIdHelp, max: 1 },
  examples: [
    operatorCommand(SCRIPTS.deploy, ["--tag", "1.4.2"]),
    operatorCommand(SCRIPTS.deploy, ["--tag", "1.4.2", "--dry-run"]),
    operatorCommand(SCRIPTS.deploy, ["--rollback-release"]),
    operatorCommand(SCRIPTS.deploy, ["--status"]),
  ],
};

export const backupSpec: ScriptSpec = {
  name: SCRIPTS.backup,
  summary: m.backup.summary,
  usage: [
    usage(SCRIPTS.backup, "[--db-only] [--no-upload] [--only <components>]"),
    usage(SCRIPTS.backup, "--restore <dir> [-y]"),
    usage(SCRIPTS.backup, "--list [--json] | --verify [<dir>] | --prune | --install-cron [<expr>]"),
  ],
  flags: {
    "db-only": { type: "boolean", description: m.backup.dbOnly },
    "no-upload": { type: "boolean", description: m.backup.noUpload },
    only: { type: "string", value: "components", description: m.backup.only },
    restore: { type: "string", value: "dir", description: m.backup.restore },
    list: { type: "boolean", description: m.backup.list },
    verify: {
      type: "boolean",
      description: m.backup.verify,
    },
    prune: { type: "boolean", description: m.backup.prune },
    "install-cron": { type: "boolean", description: m.backup.installCron },
    ...restoreInputs,
    "dry-run": dryRun,
    yes: yes(m.backup.yes),
  },
  positionals: { name: "dir|expr", description: m.backup.positional, max: 1 },
  examples: [
    operatorCommand(SCRIPTS.backup),
    operatorCommand(SCRIPTS.backup, ["--restore", "backups/daily/20240215-020000"]),
    operatorCommand(SCRIPTS.backup, ["--install-cron", "30 3 * * *"]),
  ],
};

export const rollbackSpec: ScriptSpec = {
  name: SCRIPTS.rollback,
  summary: m.rollback.summary,
  usage: [
    usage(SCRIPTS.rollback, "--list [--json]"),
    usage(SCRIPTS.rollback, "[<index>] [--skip-db] [--skip-redis] [--skip-milvus] [--skip-uploads] [--skip-config] [-y]"),
    usage(SCRIPTS.rollback, "--backup <dir> [...]"),
    usage(SCRIPTS.rollback, "--undo [-y]"),
  ],
  flags: {
    list: { type: "boolean", description: m.rollback.list },
    backup: { type: "string", value: "dir", description: m.rollback.backup },
    undo: { type: "boolean", description: m.rollback.undo },
    "skip-db": { type: "boolean", description: m.rollback.skipDb },
    "skip-redis": { type: "boolean", description: m.rollback.skipRedis },
    "skip-milvus": { type: "boolean", description: m.rollback.skipMilvus },
    "skip-uploads": { type: "boolean", description: m.rollback.skipUploads },
    "skip-config": { type: "boolean", description: m.rollback.skipConfig },
    ...restoreInputs,
    "dry-run": { ...dryRun, description: m.rollback.dryRun },
    yes: yes(),
  },
  positionals: { name: m.rollback.index, description: m.rollback.indexHelp, max: 1 },
  examples: [
    commented(operatorCommand(SCRIPTS.rollback, ["1", "-y"]), m.rollback.exampleEverything),
    commented(
      operatorCommand(SCRIPTS.rollback, ["1", "--skip-redis", "--skip-milvus", "--skip-uploads", "--skip-config"]),
      m.rollback.exampleDatabaseOnly,
    ),
    commented(operatorCommand(SCRIPTS.rollback, ["1", "--skip-redis", "--skip-milvus", "--skip-uploads"]), m.rollback.exampleDatabaseAndConfig),
    commented(operatorCommand(SCRIPTS.rollback, ["1", "--skip-db", "--skip-redis", "--skip-milvus", "--skip-uploads"]), m.rollback.exampleConfigOnly),
  ],
};

export const migrateSpec: ScriptSpec = {
  name: SCRIPTS.migrate,
  summary: m.migrate.summary,
  usage: [
    usage(SCRIPTS.migrate, "[--init] [--seed] [--skip-backup] [--dry-run]"),
    usage(SCRIPTS.migrate, "--fresh -y [--seed]"),
    usage(SCRIPTS.migrate, "--status [--json] | --lint"),
    usage(SCRIPTS.migrate, "--rollback <revision> [-y]"),
  ],
  flags: {
    status: { type: "boolean", description: m.migrate.status },
    lint: { type: "boolean", description: m.migrate.lint },
    init: { type: "boolean", description: m.migrate.init },
    seed: { type: "boolean", description: m.migrate.seed },
    fresh: {
      type: "boolean",
      description: m.migrate.fresh,
    },
    rollback: { type: "string", value: "revision", description: m.migrate.rollback },
    "skip-backup": { type: "boolean", description: m.migrate.skipBackup },
    "dry-run": { ...dryRun, description: m.migrate.dryRun },
    yes: yes(m.migrate.yes),
  },
  examples: [
    operatorCommand(SCRIPTS.migrate),
    operatorCommand(SCRIPTS.migrate, ["--status"]),
    operatorCommand(SCRIPTS.migrate, ["--rollback", "0002", "-y"]),
  ],
};

export const initEnvSpec: ScriptSpec = {
  name: SCRIPTS.initEnv,
  summary: m.initEnv.summary,
  usage: [
    usage(SCRIPTS.initEnv, "[--domain <name>] [--email <address>] [--image <repository>] [--dry-run]"),
    `ZHIPUAI_API_KEY=… PINECONE_API_KEY=… ${usage(SCRIPTS.initEnv, "--domain <name> --image <repository>")}`,
  ],
  flags: {
    domain: { type: "string", value: "name", description: m.initEnv.domain },
    email: { type: "string", value: "address", description: m.initEnv.email },
    image: { type: "string", value: "repository", description: m.initEnv.image },
    "dry-run": { ...dryRun, description: m.initEnv.dryRun },
  },
  examples: [
    operatorCommand(SCRIPTS.initEnv),
    operatorCommand(SCRIPTS.initEnv, ["--domain", "claw-ai.com", "--email", "ops@claw-ai.com", "--image", "registry.example.com/claw-ai/backend"]),
  ],
};
