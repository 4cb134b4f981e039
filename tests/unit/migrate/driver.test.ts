/**
 * lib/migrate/driver.py runs inside the backend image (it needs Alembic and SQLAlchemy): here it
 * is only parsed, checked to print the result prefix engine.ts reads, and run on the host's
 * python3 against stub alembic/sqlalchemy modules to prove the stdin → result-line path.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ClawError, PreconditionError } from "../../../lib/core/errors.ts";
import type { ComposeClient } from "../../../lib/infra/compose-client.ts";
import { MigrationEngine } from "../../../lib/migrate/engine.ts";
import type { MigrateSettings } from "../../../lib/project/config.ts";
import { ROOT, rejectsWith, tmp, write } from "../helpers.ts";

const DRIVER = join(ROOT, "lib/migrate/driver.py");
const ENGINE = join(ROOT, "lib/migrate/engine.ts");

test("driver.py parses as Python 3", () => {
  const r = spawnSync("python3", ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", DRIVER], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("driver.py prints its result with the same prefix engine.ts looks for", () => {
  const prefix = /const RESULT = ("[^"]*");/.exec(readFileSync(ENGINE, "utf8"))?.[1];
  assert.equal(prefix, '"CLAW-OPS-RESULT "');
  assert.ok(readFileSync(DRIVER, "utf8").includes(`sys.stdout.write(${prefix} + json.dumps(result) + "\\n")`));
});

/** Just enough of alembic and sqlalchemy for driver.py to import; ScriptDirectory.from_config fails. */
function stubModules(): string {
  const d = tmp("pystubs");
  write(d, "alembic/__init__.py", "");
  write(d, "alembic/command.py", "");
  write(d, "alembic/config.py", "class Config:\n    def __init__(self, *a, **k):\n        pass\n");
  write(d, "alembic/runtime/__init__.py", "");
  write(d, "alembic/runtime/migration.py", "class MigrationContext:\n    pass\n");
  write(
    d,
    "alembic/script/__init__.py",
    "class ScriptDirectory:\n    @staticmethod\n    def from_config(c):\n        raise RuntimeError('no alembic.ini here')\n",
  );
  write(d, "sqlalchemy/__init__.py", "def create_engine(*a, **k):\n    pass\n\ndef text(s):\n    return s\n");
  return d;
}

const SETTINGS: MigrateSettings = {
  command: undefined,
  lint: "warn",
  lockTimeout: "5s",
  statementTimeout: "0",
  lockWaitS: 60,
  lockRetries: 3,
  expectTables: [],
  extensions: [],
  keepBackups: 5,
};

/** A compose client whose `run --rm` is the host's python3 with `pythonPath` (no Docker); records the calls. */
function localCompose(pythonPath: string) {
  const calls: Array<{ service: string; argv: readonly string[]; env: Record<string, string>; opts: unknown }> = [];
  let env: Record<string, string> = {};
  const client = {
    withEnv(e: Record<string, string>) {
      env = { ...env, ...e };
      return client;
    },
    async runOnce(service: string, argv: readonly string[], opts: unknown, ro: { input?: string }) {
      calls.push({ service, argv, env, opts });
      const r = spawnSync(argv[0]!, argv.slice(1), { input: ro.input, encoding: "utf8", env: { ...process.env, ...env, PYTHONPATH: pythonPath } });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
  };
  return { compose: client as unknown as ComposeClient, calls };
}

test("the driver on stdin answers an unknown op with a usage result line, which the engine parses", async () => {
  const { compose, calls } = localCompose(stubModules());
  const engine = new MigrationEngine(compose, "backend", SETTINGS);
  assert.deepEqual(await engine.call("nope"), { ok: false, code: "usage", error: "unknown op nope" });
  assert.deepEqual(calls, [
    {
      service: "backend",
      argv: ["python3", "-", "nope"],
      env: {
        CLAW_MIGRATE_LOCK_TIMEOUT: "5s",
        CLAW_MIGRATE_STATEMENT_TIMEOUT: "0",
        CLAW_MIGRATE_LOCK_WAIT_S: "60",
        CLAW_MIGRATE_LOCK_RETRIES: "3",
      },
      opts: {
        noDeps: true,
        envNames: ["CLAW_MIGRATE_LOCK_TIMEOUT", "CLAW_MIGRATE_STATEMENT_TIMEOUT", "CLAW_MIGRATE_LOCK_WAIT_S", "CLAW_MIGRATE_LOCK_RETRIES"],
      },
    },
  ]);
});

test("an exception in an op becomes the driver's error result: info() throws it as a precondition error", async () => {
  const { compose } = localCompose(stubModules());
  const engine = new MigrationEngine(compose, "backend", SETTINGS);
  assert.deepEqual(await engine.call("info"), { ok: false, code: "error", error: "RuntimeError: no alembic.ini here", sqlstate: null });
  await rejectsWith(engine.info(), PreconditionError, /^cannot read the migration state: RuntimeError: no alembic\.ini here$/);
});

test("a driver that cannot import Alembic prints no result line: the engine says it did not run in the image", async () => {
  const broken = tmp("pystubs");
  write(broken, "alembic/__init__.py", "raise ImportError('No module named alembic')\n");
  const { compose } = localCompose(broken);
  const engine = new MigrationEngine(compose, "backend", SETTINGS);
  const e = await rejectsWith(
    engine.call("info"),
    ClawError,
    /^the migration driver did not run in the backend image: ImportError: No module named alembic$/,
  );
  assert.equal(e.hint, "the backend image needs python3 with alembic and sqlalchemy, and alembic.ini in its working directory");
});
