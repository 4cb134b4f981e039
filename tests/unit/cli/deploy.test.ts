import assert from "node:assert/strict";
import { test } from "node:test";
import { deployCommand } from "../../../lib/cli/deploy.ts";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { deploySpec } from "../../../lib/cli/specs.ts";
import { usageError } from "../helpers.ts";

const cmd = (...argv: string[]) => deployCommand(parseFlags(deploySpec, argv));

const DEPLOY = {
  mode: "deploy",
  tag: undefined,
  skipBackup: false,
  skipMigrations: false,
  skipSsl: false,
  skipHealthCheck: false,
  restoreDbOnFailure: false,
  checkDns: false,
  dryRun: false,
  yes: false,
};

test("a plain deploy.mts run deploys the tag of .env.prod with every phase on", () => {
  assert.deepEqual(cmd(), DEPLOY);
});

test("every deploy flag becomes its own option", () => {
  assert.deepEqual(
    cmd(
      "--tag",
      "1.4.2",
      "--skip-backup",
      "--skip-migrations",
      "--skip-ssl",
      "--skip-health-check",
      "--restore-db-on-failure",
      "--check-dns",
      "--dry-run",
      "-y",
    ),
    {
      mode: "deploy",
      tag: "1.4.2",
      skipBackup: true,
      skipMigrations: true,
      skipSsl: true,
      skipHealthCheck: true,
      restoreDbOnFailure: true,
      checkDns: true,
      dryRun: true,
      yes: true,
    },
  );
  assert.deepEqual(cmd("--tag=v2_rc.1", "--json", "--verbose"), { ...DEPLOY, tag: "v2_rc.1" });
});

test("--skip-migrate is the same as --skip-migrations", () => {
  assert.deepEqual(cmd("--skip-migrate"), { ...DEPLOY, skipMigrations: true });
});

test("--tag must be a Docker image tag: at most 128 of letters, digits, _ . -, not starting with . or -", () => {
  assert.equal((cmd("--tag", `a${"b".repeat(127)}`) as { tag: string }).tag.length, 128);
  for (const bad of ["", "a b", "a/b", "a:b", ".hidden", "-x", "1.0;rm", `a${"b".repeat(128)}`, "é"]) {
    const e = usageError(() => cmd(`--tag=${bad}`));
    assert.equal(e.message, `--tag ${JSON.stringify(bad)} is not a Docker image tag`, bad);
    assert.equal(e.hint, "letters, digits, _ . - (at most 128)");
  }
});

test("two modes at once are a usage error naming both", () => {
  assert.equal(usageError(() => cmd("--list-releases", "--status")).message, "--list-releases and --status cannot be combined");
  assert.equal(usageError(() => cmd("--status", "--rollback-release")).message, "--status and --rollback-release cannot be combined");
  assert.equal(usageError(() => cmd("--rollback-release", "--list-releases")).message, "--list-releases and --rollback-release cannot be combined");
});

test("--list-releases and --status take no other flag but --json (and --verbose)", () => {
  assert.deepEqual(cmd("--list-releases"), { mode: "list-releases" });
  assert.deepEqual(cmd("--list-releases", "--json"), { mode: "list-releases" });
  assert.deepEqual(cmd("--status", "--json", "--verbose"), { mode: "status" });
  assert.equal(usageError(() => cmd("--list-releases", "--tag", "1.0")).message, "--list-releases takes no --tag");
  assert.equal(usageError(() => cmd("--status", "--dry-run")).message, "--status takes no --dry-run");
  assert.equal(usageError(() => cmd("--status", "-y")).message, "--status takes no --yes");
  assert.equal(usageError(() => cmd("--list-releases", "--skip-backup")).message, "--list-releases takes no --skip-backup");
});

test("--rollback-release without an id goes back to the release before; with one, to that release", () => {
  const common = { skipBackup: false, skipSsl: false, skipHealthCheck: false, dryRun: false, yes: false };
  assert.deepEqual(cmd("--rollback-release"), { mode: "rollback-release", id: undefined, ...common });
  assert.deepEqual(cmd("--rollback-release", "20260301-120000"), { mode: "rollback-release", id: "20260301-120000", ...common });
  assert.deepEqual(cmd("20260301-120000-2", "--rollback-release", "--dry-run", "--skip-backup", "--skip-ssl", "--skip-health-check", "-y"), {
    mode: "rollback-release",
    id: "20260301-120000-2",
    skipBackup: true,
    skipSsl: true,
    skipHealthCheck: true,
    dryRun: true,
    yes: true,
  });
});

test("a release id without --rollback-release is refused, and so is a second one", () => {
  const e = usageError(() => cmd("20260301-120000"));
  assert.equal(e.message, 'unexpected argument "20260301-120000"');
  assert.equal(e.hint, "a release id goes with --rollback-release");
  assert.equal(usageError(() => cmd("--status", "x")).message, 'unexpected argument "x"');
  assert.equal(usageError(() => cmd("--rollback-release", "a", "b")).message, 'unexpected argument "b"');
});

test("--rollback-release takes no --tag, no migration flags and no --restore-db-on-failure", () => {
  for (const flag of ["--tag=1.0", "--skip-migrations", "--skip-migrate", "--restore-db-on-failure"]) {
    const e = usageError(() => cmd("--rollback-release", flag));
    assert.equal(e.message, `--rollback-release takes no ${flag.replace(/=.*/, "")}`, flag);
    assert.equal(e.hint, "it goes back to a release's own tag and never runs migrations");
  }
});

test("an unknown flag, or --tag without a value, is a usage error", () => {
  assert.equal(usageError(() => cmd("--frobnicate")).message, "unknown flag --frobnicate");
  assert.equal(usageError(() => cmd("--rollback")).message, "unknown flag --rollback");
  assert.match(usageError(() => cmd("--tag")).message, /^flag --tag .*needs a value$/);
});

test("--tag without a value names the flag alone", {}, () => {
  assert.equal(usageError(() => cmd("--tag")).message, "flag --tag needs a value");
});
