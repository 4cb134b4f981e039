import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ExitCode, PreconditionError } from "../../../lib/core/errors.ts";
import {
  deploySettings,
  encryptionSettings,
  migrateSettings,
  offsiteSettings,
  parseConfig,
  postgresSettings,
  retentionSettings,
  snapshotSettings,
} from "../../../lib/project/config.ts";
import { validateEnv } from "../../../lib/project/env.ts";
import { GENERATED_KEYS } from "../../../lib/project/env-file.ts";
import { type EnvGetter, type Section, valueProblem } from "../../../lib/project/setting-types.ts";
import { SETTINGS, type SettingName, setting, settingDefault } from "../../../lib/project/settings.ts";
import { settingsTable, TABLE_END, TABLE_START, templateFindings, withSettingsTable } from "../../../lib/project/settings-doc.ts";
import { composeVariables } from "../../../lib/project/stack.ts";
import { testEnv } from "../../stack/harness.ts";
import { keygen } from "../helpers.ts";

const ROOT = join(import.meta.dirname, "../../..");
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");

test("every setting in the table is documented in .env.prod.example with its default", () => {
  assert.deepEqual(templateFindings(read("templates/.env.prod.example")), []);
});

test("the template check finds a key that is missing, undocumented, or shows another default", () => {
  const template = ["# --- Deploy", "DEPLOY_KEEP_RELEASES=7", "", "DEPLOY_MIN_FREE_MB=1024", "# (empty: the domain)", "DEPLOY_DOMAIN="].join("\n");
  const only = ["DEPLOY_KEEP_RELEASES", "DEPLOY_MIN_FREE_MB", "DEPLOY_DOMAIN", "DEPLOY_EMAIL"] as const;
  assert.deepEqual(
    templateFindings(
      template,
      only.map((k) => setting(k)),
    ),
    [
      { key: "DEPLOY_KEEP_RELEASES", problem: "default" },
      { key: "DEPLOY_MIN_FREE_MB", problem: "undocumented" },
      { key: "DEPLOY_DOMAIN", problem: "derived" },
      { key: "DEPLOY_EMAIL", problem: "missing" },
    ],
  );
});

test("the README's settings table is generated from the settings table", () => {
  const readme = read("README.md");
  assert.equal(withSettingsTable(readme), readme, "run `npm run docs:settings`");
  const section = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END));
  for (const s of SETTINGS) assert.match(section, new RegExp(`^\\| \`${s.name}\` \\|`, "m"));
  assert.equal(withSettingsTable("no markers here"), undefined);
});

test("the README's table shows each setting's type, default, secrecy, shell override and readers", () => {
  const row = (name: SettingName) => settingsTable([setting(name)]).split("\n")[2];
  assert.equal(
    row("MIGRATE_LINT"),
    "| `MIGRATE_LINT` | warn \\| strict | `warn` |  | yes | migrate | lint findings warn, or block every migration |",
  );
  assert.match(row("WEBHOOK_URL")!, /^\| `WEBHOOK_URL` \| url \| unset \| yes \| {2}\| notify \|/);
  assert.match(row("DEPLOY_KEEP_BACKUPS")!, /\| int ≥ 1 \| that of `BACKUP_SNAPSHOT_KEEP` \|.*\| deploy, snapshotRetention \|/);
  assert.match(row("SECRET_KEY")!, /\| password \| required \(init-env generates it\) \| yes \|/);
});

test("the compose file reads exactly the settings the table says it reads, with the same defaults", () => {
  const compose = read("docker-compose.prod.yml");
  const readByCompose = SETTINGS.filter((s) => s.sections.includes("compose")).map((s) => s.name);
  assert.deepEqual([...readByCompose].sort(), [...composeVariables(compose)].sort());
  for (const [, name, dflt] of compose.matchAll(/\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}/g)) {
    assert.equal(setting(name as SettingName).default, dflt, name);
  }
});

/** The keys a section reads, by a getter that records them (and answers with valid values). */
function keysRead(values: Record<string, string>, f: (get: EnvGetter) => unknown): Set<string> {
  const seen = new Set<string>();
  f((k) => {
    seen.add(k);
    return values[k];
  });
  return seen;
}

test("each setting names the parts of the configuration that read it", () => {
  const A = keygen();
  const values: Record<string, string> = {
    ...testEnv(),
    BACKUP_ENCRYPTION_KEY: A.key,
    BACKUP_AGE_RECIPIENTS: A.recipient,
    OFFSITE_S3_BUCKET: "claw-backups",
    OFFSITE_S3_ENDPOINT: "https://s3.example",
    OFFSITE_S3_ACCESS_KEY: "AK",
    OFFSITE_S3_SECRET_KEY: "very-secret-key",
  };
  const sections: Partial<Record<Section, (get: EnvGetter) => unknown>> = {
    postgres: postgresSettings,
    deploy: (get) => deploySettings(get, {}),
    migrate: (get) => migrateSettings(get, {}),
    encryption: encryptionSettings,
    retention: retentionSettings,
    snapshotRetention: snapshotSettings,
    offsite: offsiteSettings,
  };
  const tableSays = (pick: (s: Section) => boolean) => SETTINGS.filter((s) => s.sections.some(pick)).map((s) => s.name);
  for (const [section, f] of Object.entries(sections)) {
    const read = [...keysRead(values, f)];
    assert.deepEqual(read.sort(), tableSays((s) => s === section).sort(), section);
  }
  // snapshotInPlace is read when first asked for; release, flower and notify inline while the configuration is built.
  let asked = false;
  const inPlace = new Set<string>();
  const config = parseConfig((k) => {
    if (asked) inPlace.add(k);
    return values[k];
  }, {});
  asked = true;
  config.snapshotInPlace();
  assert.deepEqual(
    [...inPlace],
    tableSays((s) => s === "snapshotInPlace"),
  );
  const eager = keysRead(values, (get) => parseConfig(get, {}));
  for (const f of [sections.postgres!, sections.deploy!, sections.migrate!, sections.encryption!])
    for (const k of keysRead(values, f)) eager.delete(k);
  assert.deepEqual([...eager].sort(), tableSays((s) => ["release", "flower", "notify"].includes(s)).sort());
});

test("every default is a value its own setting accepts, and a key has a default, a derived one, none or is required: one of them", () => {
  for (const s of SETTINGS) {
    if (s.default !== undefined) {
      assert.equal(valueProblem(s, s.default), undefined, s.name);
      assert.doesNotThrow(() => settingDefault(s.name), s.name);
    }
    assert.ok([s.default !== undefined, s.derivedDefault !== undefined, s.required].filter(Boolean).length <= 1, s.name);
    assert.ok(s.doc.length > 0 && !s.doc.includes("\n"), s.name);
  }
  assert.equal(new Set(SETTINGS.map((s) => s.name)).size, SETTINGS.length);
  assert.deepEqual(parseConfig((k) => ({ POSTGRES_USER: "claw_ai", POSTGRES_DB: "claw_ai" })[k], {}).deploy.backupComponents, [
    "postgres",
    "redis",
    "uploads",
    "config",
  ]);
});

test("init-env generates exactly the table's passwords", () => {
  assert.deepEqual(
    GENERATED_KEYS,
    SETTINGS.filter((s) => s.type === "password").map((s) => s.name),
  );
  assert.deepEqual(GENERATED_KEYS, [
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "SECRET_KEY",
    "MINIO_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "FLOWER_PASSWORD",
  ]);
});

/** What a value of .env.prod comes to: refused when the file is loaded or when it is read, else its typed value. */
function fromFile(name: SettingName, value: string, section: (get: EnvGetter, environ: NodeJS.ProcessEnv) => unknown): unknown {
  if (validateEnv({ [name]: value }, [setting(name)]).length > 0) return "refused";
  return outcome(() => section((k) => (k === name ? value : undefined), {}));
}
function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof PreconditionError, String(e));
    assert.equal(e.exitCode, ExitCode.precondition);
    return "refused";
  }
}

test("a shell override of MIGRATE_LOCK_TIMEOUT is checked like .env.prod's value", () => {
  const none = () => undefined;
  for (const v of ["30s", "250ms", "2min", "0", "10", "5s -c statement_timeout=0", "1h", "5 s", "your_timeout", "'5s'"]) {
    const shell = outcome(() => migrateSettings(none, { MIGRATE_LOCK_TIMEOUT: v }));
    assert.deepEqual(shell, fromFile("MIGRATE_LOCK_TIMEOUT", v, migrateSettings), v);
    if (shell !== "refused") assert.equal((shell as { lockTimeout: string }).lockTimeout, v);
  }
  const e = outcome(() => migrateSettings(none, { MIGRATE_LOCK_TIMEOUT: "5s; SET role postgres" }));
  assert.equal(e, "refused");
});

test("every setting the shell may override passes the same checks from the shell as from .env.prod", () => {
  const samples = ["", " ", "0", "7", "1e9", "99999999999999999999", "-1", "5s", "10min", "2h", "warn", "strict", "yes", "your_value"];
  samples.push("claw.example.org", "ops@claw-ai.com", "users,messages", "alembic upgrade head", "a b;c", "x\ny");
  const shellKeys = SETTINGS.filter((s) => s.shell).map((s) => s.name);
  assert.deepEqual(shellKeys, [
    "DOMAIN",
    "DEPLOY_DOMAIN",
    "DEPLOY_EMAIL",
    "MIGRATE_LINT",
    "MIGRATE_LOCK_TIMEOUT",
    "MIGRATE_STATEMENT_TIMEOUT",
    "MIGRATE_LOCK_WAIT_S",
    "MIGRATE_LOCK_RETRIES",
    "MIGRATE_EXPECT_TABLES",
    "MIGRATE_COMMAND",
  ]);
  for (const name of shellKeys) {
    const section = setting(name).sections.includes("deploy") ? deploySettings : migrateSettings;
    for (const v of samples) {
      if (v.trim() === "") continue; // blank: no override, .env.prod's value (or the default) stands
      const shell = outcome(() => section(() => undefined, { [name]: v }));
      assert.deepEqual(shell, fromFile(name, v, section), `${name}=${JSON.stringify(v)}`);
    }
  }
});

test("a blank shell value overrides nothing; a setting the shell may not override ignores the shell", () => {
  const file = (k: string) => ({ MIGRATE_LOCK_TIMEOUT: "10s", MIGRATE_KEEP_BACKUPS: "2", MIGRATE_EXTENSIONS: "pg_trgm" })[k];
  const m = migrateSettings(file, { MIGRATE_LOCK_TIMEOUT: " ", MIGRATE_KEEP_BACKUPS: "9", MIGRATE_EXTENSIONS: "x" });
  assert.equal(m.lockTimeout, "10s");
  assert.equal(m.keepBackups, 2);
  assert.deepEqual(m.extensions, ["pg_trgm"]);
});

test("a whole number that is too large to count with is refused, naming the key, from .env.prod and from the shell", () => {
  for (const environ of [{}, { MIGRATE_LOCK_WAIT_S: "99999999999999999999" }]) {
    const get = (k: string) => (k === "MIGRATE_LOCK_WAIT_S" && !environ.MIGRATE_LOCK_WAIT_S ? "99999999999999999999" : undefined);
    assert.throws(
      () => migrateSettings(get, environ),
      (e: unknown) => e instanceof PreconditionError && /^\.env\.prod: MIGRATE_LOCK_WAIT_S must be a whole number$/.test(e.message),
    );
  }
});
