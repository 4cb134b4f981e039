/**
 * migrate.mts on the real stack, with the backend stand-in's Alembic revisions and images that
 * add revisions: an empty database migrated, a new revision pending with its lint finding then
 * applied after a pre-migrate backup and rolled back, strict lint, a revision that fails
 * halfway, two heads, a database ahead of the image, two runs at once, a table lock that
 * outlasts lock_timeout, a run killed mid-migration. One stack (Postgres only); each test also
 * runs alone (memoized fixtures).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { baseArgs } from "../../lib/commands/compose.ts";
import { run } from "../../lib/core/exec.ts";
import { setEnvValue } from "../../lib/project/env.ts";
import { once } from "../stack/fixtures.ts";
import { createStack, type TestStack } from "../stack/harness.ts";
import { buildAppWithRevisions, ensureImages } from "../stack/images.ts";
import { runScript, type ScriptRun, startScript, tailOf } from "../stack/scripts.ts";
import { psql } from "../stack/state.ts";

const log = (m: string) => process.stderr.write(`[migrate-e2e] ${m}\n`);

const revision = (rev: string, down: string, up: string, downSql = "SELECT 1") => `"""${rev}"""
from alembic import op

revision = "${rev}"
down_revision = "${down}"


def upgrade():
${up
  .split("\n")
  .map((l) => `    op.execute(${JSON.stringify(l)})`)
  .join("\n")}


def downgrade():
    op.execute(${JSON.stringify(downSql)})
`;

const PROBE = "../../../../tmp/claw_probe";
const INDEX = revision("0004", "0003", "CREATE INDEX ix_users_email ON users (email)", "DROP INDEX ix_users_email");
const HALF = revision("0005", "0004", "CREATE TABLE t_half (id int)\nINSERT INTO users (email) VALUES ('half@example.com')\nSELECT 1/0");
const SLOW = revision("0005", "0004", "CREATE TABLE t_slow (id int)\nSELECT pg_sleep(60)");

interface Status {
  state: string;
  current: string | null;
  head: string | null;
  pending: Array<{ revision: string; findings: Array<{ rule: string }> }>;
  exitCode: number;
}

describe("migrate.mts on the real stack", { timeout: 1_800_000 }, () => {
  let stack: TestStack;
  const migrate = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runScript({ ...stack, scriptEnv: { ...stack.scriptEnv, ...env } }, "migrate", args);
  const ok = async (args: string[], env?: NodeJS.ProcessEnv): Promise<ScriptRun> => {
    const r = await migrate(args, env);
    assert.equal(r.status, 0, `migrate ${args.join(" ")}: ${tailOf(r, 30)}`);
    return r;
  };
  const status = async (): Promise<Status & { code: number | null }> => {
    const r = await migrate(["--status", "--json"]);
    return { ...(JSON.parse(r.stdout) as Status), code: r.status };
  };
  const release = (tag: string) => setEnvValue(join(stack.dir, ".env.prod"), "CLAW_AI_TAG", tag);
  const schema = async () =>
    psql(stack, "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema='public'").then(
      async (t) =>
        `${t.trim()} | ${(await psql(stack, "SELECT count(*) FROM users")).trim()} | ${(await psql(stack, "SELECT version_num FROM alembic_version")).trim()}`,
    );

  before(async () => {
    await ensureImages((m) => log(`[images] ${m}`));
    await buildAppWithRevisions("m4", { "0004_users_email_index.py": INDEX });
    await buildAppWithRevisions("m5half", { "0004_users_email_index.py": INDEX, "0005_half.py": HALF });
    await buildAppWithRevisions("m5slow", { "0004_users_email_index.py": INDEX, "0005_slow.py": SLOW });
    await buildAppWithRevisions("heads", {
      "0004_a.py": revision("0004a", "0003", "SELECT 1"),
      "0004_b.py": revision("0004b", "0003", "SELECT 1"),
    });
    // Hardening row 2's probe: an image whose revision id climbs out of any directory.
    await buildAppWithRevisions("probe", { "0004_probe.py": revision(PROBE, "0003", "SELECT 1") });
    stack = await createStack();
    // Only the database: migrate runs in one-off containers of the backend image.
    await stack.compose.up({ services: ["postgres"], wait: true, noDeps: true }, 180_000);
  });

  after(async () => {
    await stack?.down();
  });

  const migrated = once(async () => {
    const empty = await status();
    assert.equal(empty.code, 6, "an empty database has every revision pending (exit 6)");
    assert.deepEqual(
      empty.pending.map((p) => p.revision),
      ["0001", "0002", "0003"],
    );
    const r = await ok(["--init"]);
    assert.match(r.stdout, /database claw_ai exists/);
    await psql(stack, "INSERT INTO users (email, name) SELECT 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 2000) g");
  });

  test("an empty database → --init → migrate → --status at head, exit 0", async () => {
    await migrated();
    const s = await status();
    assert.equal(s.code, 0, JSON.stringify(s));
    assert.equal(s.state, "at-head");
    assert.equal(s.current, "0003");
    const again = await ok([]);
    assert.match(again.stdout, /nothing to migrate/);
    assert.doesNotMatch(again.stdout, /pre-migrate backup/, "nothing pending: no backup");
  });

  test("a new revision in the image: --status lists it pending (exit 6) with its lint finding; --lint flags CREATE INDEX without CONCURRENTLY", async () => {
    await migrated();
    release("m4");
    const s = await status();
    assert.equal(s.code, 6);
    assert.deepEqual(
      s.pending.map((p) => p.revision),
      ["0004"],
    );
    assert.ok(
      s.pending[0]!.findings.some((f) => f.rule === "require-concurrent-index-creation"),
      JSON.stringify(s.pending[0]!.findings),
    );
    const lint = await ok(["--lint"]);
    assert.match(lint.stdout, /0004: require-concurrent-index-creation/);
    const dry = await ok(["--dry-run"]);
    assert.match(dry.stdout, /-- 0004: the SQL it runs\nSET lock_timeout = '5s';[\s\S]*CREATE INDEX ix_users_email ON users \(email\)/);
    assert.match(dry.stdout, /dry run: nothing was changed/);
    assert.equal((await status()).current, "0003");
  });

  test("hardening row 2: an image with revision id ../../../../tmp/claw_probe is refused by --lint (exit 3) and nothing is written outside the project", async () => {
    await migrated();
    rmSync("/tmp/claw_probe.sql", { force: true });
    release("probe");
    const r = await migrate(["--lint"]);
    assert.equal(r.status, 3, tailOf(r));
    assert.match(r.stdout + r.stderr, /not a plain revision id/);
    assert.equal(existsSync("/tmp/claw_probe.sql"), false, "the lint wrote no file outside its own directory");
    assert.equal((await migrate(["--status"])).status, 3, "--status refuses it the same way");
  });

  test("MIGRATE_LINT=strict: a finding blocks the run and nothing is applied", async () => {
    await migrated();
    release("m4");
    const r = await migrate([], { MIGRATE_LINT: "strict" });
    assert.equal(r.status, 3, tailOf(r));
    assert.match(r.stdout + r.stderr, /MIGRATE_LINT=strict: \d+ lint finding/);
    assert.equal((await status()).current, "0003");
  });

  const applied = once(async () => {
    await migrated();
    release("m4");
    const r = await ok(["--json"]);
    return JSON.parse(r.stdout) as { applied: string[]; backup: string; current: string };
  });

  test("migrate applies it after a pre-migrate backup; --status is at head; --rollback 0003 downgrades and status agrees", async () => {
    const r = await applied();
    assert.deepEqual(r.applied, ["0004"]);
    assert.match(r.backup, /^backups\/pre-migrate\/\d{8}-\d{6}$/);
    assert.equal((await status()).code, 0);
    await ok(["--rollback", "0003", "-y", "--skip-backup"]);
    const s = await status();
    assert.equal(s.current, "0003");
    assert.equal(s.code, 6);
    await ok([]);
    assert.equal((await status()).current, "0004");
  });

  test("a revision that fails halfway leaves schema and rows unchanged, exits 1 with the database's error and the restore command", async () => {
    await applied();
    release("m5half");
    const before = await schema();
    const r = await migrate([]);
    assert.equal(r.status, 1, tailOf(r));
    const text = r.stdout + r.stderr;
    assert.match(text, /revision 0005 failed.*division by zero/);
    assert.match(text, /rollback\.mts --backup backups\/pre-migrate\/\d{8}-\d{6} --skip-redis/);
    assert.equal(await schema(), before, "tables, rows and revision as before");
    release("m4");
  });

  test("two heads in the image are refused before anything runs; a database ahead of the image is refused (exit 7)", async () => {
    await applied();
    release("heads");
    const two = await migrate([]);
    assert.equal(two.status, 3, tailOf(two));
    assert.match(two.stdout + two.stderr, /2 Alembic heads .*merge the heads/);
    release("local");
    const ahead = await migrate([]);
    assert.equal(ahead.status, 7, tailOf(ahead));
    assert.match(ahead.stdout + ahead.stderr, /ahead of this image: it is at 0004/);
    assert.equal((await status()).code, 7);
    release("m4");
  });

  test("two migrates started together: one applies, the other refuses naming who holds the lock; never both", async () => {
    await applied();
    await ok(["--rollback", "0003", "-y", "--skip-backup"]);
    const [a, b] = await Promise.all([migrate(["--skip-backup"]), migrate(["--skip-backup"])]);
    const codes = [a.status, b.status].sort();
    assert.deepEqual(codes, [0, 4], `${tailOf(a)}\n---\n${tailOf(b)}`);
    const refused = a.status === 4 ? a : b;
    assert.match(refused.stdout + refused.stderr, /lock/i);
    assert.equal((await status()).current, "0004");
  });

  test("a table lock that outlasts lock_timeout: the run times out cleanly, naming the revision, and changes nothing", async () => {
    await applied();
    await ok(["--rollback", "0003", "-y", "--skip-backup"]);
    const argv = [
      ...baseArgs(stack.compose.project),
      "exec",
      "-T",
      "postgres",
      "psql",
      "-U",
      stack.env.POSTGRES_USER!,
      "-d",
      stack.env.POSTGRES_DB!,
      "-c",
      "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(45); COMMIT;",
    ];
    const holder = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
    try {
      await new Promise((res) => setTimeout(res, 2000));
      const r = await migrate(["--skip-backup"], { MIGRATE_LOCK_TIMEOUT: "1s", MIGRATE_LOCK_RETRIES: "1" });
      assert.equal(r.status, 1, tailOf(r));
      assert.match(r.stdout + r.stderr, /revision 0004 could not take its locks within lock_timeout \(2 attempts\)/);
      assert.equal((await status()).current, "0003");
    } finally {
      holder.kill("SIGKILL");
      await psql(stack, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(45)%' AND pid <> pg_backend_pid()");
    }
  });

  test("SIGKILL mid-migration: the next run reports the interrupted run and what to do, and finishes", async () => {
    await applied();
    release("m5slow");
    const run1 = startScript(stack, "migrate", ["--skip-backup"]);
    const deadline = Date.now() + 120_000;
    while (!/alembic upgrade 0005/.test(run1.output()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    await new Promise((res) => setTimeout(res, 3000));
    process.kill(-run1.child.pid!, "SIGKILL");
    await run1.done;
    release("m4");
    const r = await migrate(["--status"]);
    assert.equal(r.status, 0, tailOf(r));
    const next = await ok(["--skip-backup"]);
    assert.match(next.stdout + next.stderr, /a migrate run .* died while applying .*0005/);
    assert.match(next.stdout + next.stderr, /stopped 1 migration container/);
    const tables = await psql(stack, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't_slow'");
    assert.equal(tables.trim(), "0", "the killed revision was rolled back");
  });

  test("hardening row 6: a MIGRATE_COMMAND run killed with SIGKILL leaves its container migrating; the next run stops it before it starts its own, never two at once", async () => {
    await applied();
    const oneOffs = async () => {
      const r = await run({
        argv: ["docker", "ps", "-q", "--filter", `label=com.docker.compose.project=${stack.name}`, "--filter", "label=ai.claw.ops.oneoff=true"],
      });
      return r.stdout.split("\n").filter(Boolean).length;
    };
    // sleep as PID 1 ignores SIGTERM, like a migration tool that is busy.
    const run1 = startScript({ ...stack, scriptEnv: { ...stack.scriptEnv, MIGRATE_COMMAND: "sleep 600" } }, "migrate", ["--skip-backup"]);
    const deadline = Date.now() + 120_000;
    while ((await oneOffs()) === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    process.kill(-run1.child.pid!, "SIGKILL");
    await run1.done;
    assert.equal(await oneOffs(), 1, "the dead run's container is still migrating");
    const r = await ok(["--skip-backup"], { MIGRATE_COMMAND: "true" });
    const text = r.stdout + r.stderr;
    assert.match(text, /stopped 1 migration container\(s\) the dead run left running/);
    assert.equal(await oneOffs(), 0);
  });

  test("--seed applies each seed once; an edited seed is reported, not applied again", async () => {
    await applied();
    release("m4");
    mkdirSync(join(stack.dir, "seeds"), { recursive: true });
    const seedFile = join(stack.dir, "seeds", "01_admin.sql");
    writeFileSync(seedFile, "INSERT INTO users (email, name) VALUES ('admin@example.com', 'admin');\n");
    const admins = async () => (await psql(stack, "SELECT count(*) FROM users WHERE email = 'admin@example.com'")).trim();
    await ok(["--seed", "--skip-backup"]);
    const twice = await ok(["--seed", "--skip-backup"]);
    assert.equal(await admins(), "1", "applied once");
    assert.match(twice.stdout, /seeds: 0 applied, 1 already applied/);
    writeFileSync(seedFile, "INSERT INTO users (email, name) VALUES ('admin@example.com', 'admin2');\n");
    const edited = await ok(["--seed", "--skip-backup"]);
    assert.match(edited.stdout + edited.stderr, /seeds\/01_admin\.sql changed since it was applied .*not run again/);
    assert.equal(await admins(), "1");
  });

  test("--fresh without -y refuses and changes nothing; with -y it backs up first, and that backup restores", async () => {
    await applied();
    release("m4");
    const users = async () => (await psql(stack, "SELECT count(*) FROM users")).trim();
    const before = await users();
    const refused = await migrate(["--fresh"]);
    assert.equal(refused.status, 2, tailOf(refused));
    assert.match(refused.stdout + refused.stderr, /refusing to drop database claw_ai without -y/);
    assert.equal(await users(), before);
    const r = await ok(["--fresh", "-y"]);
    const backup = /to get the old database back: npx zx scripts\/rollback\.mts --backup (backups\/pre-migrate\/\d{8}-\d{6})/.exec(
      r.stdout + r.stderr,
    )?.[1];
    assert.ok(backup, tailOf(r, 30));
    assert.equal(await users(), "0", "an empty database, migrated");
    assert.equal((await status()).current, "0004");
    const restored = await runScript(stack, "backup", ["--restore", backup, "-y"]);
    assert.equal(restored.status, 0, tailOf(restored, 30));
    assert.equal(await users(), before, "the backup --fresh took brings every row back");
  });

  test("MIGRATE_COMMAND runs the backend's own migration tool instead (apply only: --status refuses)", async () => {
    await applied();
    await ok(["--rollback", "0003", "-y", "--skip-backup"]);
    const env = { MIGRATE_COMMAND: "alembic upgrade head" };
    const st = await migrate(["--status"], env);
    assert.equal(st.status, 2, tailOf(st));
    assert.match(st.stdout + st.stderr, /MIGRATE_COMMAND is set: --status needs Alembic's revisions/);
    const r = await ok(["--skip-backup"], env);
    assert.match(r.stdout, /alembic upgrade head \(one-off container of the backend image\)/);
    assert.equal((await status()).current, "0004");
  });
});
