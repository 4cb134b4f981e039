import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { migrateCommand } from "../../../lib/cli/migrate.ts";
import { migrateSpec } from "../../../lib/cli/specs.ts";
import { usageError } from "../helpers.ts";

const cmd = (...argv: string[]) => migrateCommand(parseFlags(migrateSpec, argv));
/** The usage error's message for these flags. */
const refused = (...argv: string[]) => usageError(() => cmd(...argv)).message;

test("no flags applies the pending migrations, with a backup, for real", () => {
  assert.deepEqual(cmd(), { mode: "apply", init: false, seed: false, fresh: false, yes: false, skipBackup: false, dryRun: false });
});

test("--init, --skip-backup, --dry-run and -y go with an apply run", () => {
  assert.deepEqual(cmd("--init"), { mode: "apply", init: true, seed: false, fresh: false, yes: false, skipBackup: false, dryRun: false });
  assert.deepEqual(cmd("--init", "--skip-backup", "-y"), {
    mode: "apply",
    init: true,
    seed: false,
    fresh: false,
    yes: true,
    skipBackup: true,
    dryRun: false,
  });
  assert.deepEqual(cmd("--dry-run"), { mode: "apply", init: false, seed: false, fresh: false, yes: false, skipBackup: false, dryRun: true });
  assert.deepEqual(cmd("--skip-backup", "--dry-run", "--json"), {
    mode: "apply",
    init: false,
    seed: false,
    fresh: false,
    yes: false,
    skipBackup: true,
    dryRun: true,
  });
});

test("--status and --lint are read-only modes (--json allowed)", () => {
  assert.deepEqual(cmd("--status"), { mode: "status" });
  assert.deepEqual(cmd("--status", "--json"), { mode: "status" });
  assert.deepEqual(cmd("--lint"), { mode: "lint" });
});

test("--status and --lint refuse --skip-backup, --dry-run and -y: they change nothing", () => {
  for (const mode of ["--status", "--lint"]) {
    for (const extra of ["--skip-backup", "--dry-run", "-y", "--yes"]) {
      assert.equal(refused(mode, extra), `${mode} changes nothing: it takes no --skip-backup, --dry-run or -y`, `${mode} ${extra}`);
    }
  }
});

test("--rollback takes an Alembic revision id (or base), with --skip-backup and -y", () => {
  assert.deepEqual(cmd("--rollback", "0002"), { mode: "rollback", revision: "0002", skipBackup: false, yes: false });
  assert.deepEqual(cmd("--rollback", "ae1027a6acf", "--skip-backup", "-y"), {
    mode: "rollback",
    revision: "ae1027a6acf",
    skipBackup: true,
    yes: true,
  });
  assert.deepEqual(cmd("--rollback=base"), { mode: "rollback", revision: "base", skipBackup: false, yes: false });
});

test("--rollback refuses what is not a revision id: relative steps, paths, shell, an empty or too long id", () => {
  for (const bad of ["-1", "head-1", "../0002", "0002;rm -rf /", "", "a".repeat(65), "00 02"]) {
    assert.equal(refused(`--rollback=${bad}`), `--rollback ${JSON.stringify(bad)} is not an Alembic revision id`, bad);
  }
  assert.equal(cmd(`--rollback=${"a".repeat(64)}`).mode, "rollback");
});

test("--rollback without its revision is a usage error", () => {
  assert.equal(refused("--rollback"), "flag --rollback needs a value");
});

test("--rollback refuses --dry-run, pointing at --status", () => {
  const e = usageError(() => cmd("--rollback", "0002", "--dry-run"));
  assert.equal(e.message, "--rollback has no --dry-run");
  assert.equal(e.hint, "see the revisions with --status");
});

test("two modes cannot be combined, whatever their order", () => {
  assert.equal(refused("--status", "--lint"), "--status and --lint cannot be combined");
  assert.equal(refused("--lint", "--status"), "--status and --lint cannot be combined");
  assert.equal(refused("--lint", "--rollback", "0002"), "--lint and --rollback cannot be combined");
  assert.equal(refused("--rollback", "0002", "--status"), "--status and --rollback cannot be combined");
});

test("--init goes only with a migration run: not with --status, --lint or --rollback", () => {
  assert.equal(refused("--init", "--status"), "--init goes with a migration run, not with --status");
  assert.equal(refused("--lint", "--init"), "--init goes with a migration run, not with --lint");
  assert.equal(refused("--init", "--rollback", "0002"), "--init goes with a migration run, not with --rollback");
});

test("--init with --dry-run is refused (creating the database is a change)", () => {
  assert.equal(refused("--init", "--dry-run"), "--init has no --dry-run");
});

test("unknown flags and positionals are usage errors", () => {
  assert.equal(refused("--skip-migrations"), "unknown flag --skip-migrations");
  assert.equal(refused("0002"), 'unexpected argument "0002"');
});

test("--seed and --fresh go with an apply run; --fresh always backs up and has no --skip-backup or --dry-run", () => {
  assert.deepEqual(cmd("--seed"), { mode: "apply", init: false, seed: true, fresh: false, yes: false, skipBackup: false, dryRun: false });
  assert.deepEqual(cmd("--fresh", "-y", "--seed"), {
    mode: "apply",
    init: false,
    seed: true,
    fresh: true,
    yes: true,
    skipBackup: true,
    dryRun: false,
  });
  assert.throws(() => cmd("--fresh", "--skip-backup"), /--fresh always takes a backup first/);
  assert.throws(() => cmd("--fresh", "--dry-run"), /--fresh has no --dry-run/);
  assert.throws(() => cmd("--status", "--seed"), /--seed goes with a migration run, not with --status/);
});
