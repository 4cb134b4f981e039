/** The real scripts, run as operators run them: `npx zx scripts/<name>.mts`. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { testEnv, writeEnvFile } from "../../stack/harness.ts";

const ROOT = join(import.meta.dirname, "../../..");
const SCRIPTS = ["deploy", "backup", "rollback", "migrate"];

function zx(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("npx", ["zx", `scripts/${script}.mts`, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const s of SCRIPTS) {
  test(`${s}.mts --help prints usage and exits 0`, () => {
    const r = zx(s, ["--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${s}\\.mts — `));
    assert.match(r.stdout, /Usage:/);
  });

  test(`${s}.mts with an unknown flag exits 2 with a one-line error`, () => {
    const r = zx(s, ["--no-such-flag"]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /unknown flag --no-such-flag/);
  });
}

function projectWith(env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "claw-proj-"));
  writeEnvFile(join(dir, ".env.prod"), env);
  return dir;
}

test("a .env.prod with a placeholder password is refused with exit 3, naming the key only", () => {
  const dir = projectWith({ ...testEnv(), REDIS_PASSWORD: "change_this_redis_password" });
  const r = zx("backup", [], { CLAW_OPS_PROJECT_DIR: dir });
  assert.equal(r.status, 3);
  assert.match(r.stderr, /REDIS_PASSWORD still holds the template's placeholder/);
  assert.doesNotMatch(r.stdout + r.stderr, /change_this_redis_password/);
});

test("a .env.prod without SECRET_KEY is refused with exit 3, naming the key", () => {
  const env: Record<string, string> = testEnv();
  delete env.SECRET_KEY;
  const r = zx("rollback", ["1", "-y"], { CLAW_OPS_PROJECT_DIR: projectWith(env) });
  assert.equal(r.status, 3);
  assert.match(r.stderr, /SECRET_KEY is missing/);
});

test("a missing .env.prod is refused with exit 3 and the command that creates it", () => {
  const r = zx("deploy", [], { CLAW_OPS_PROJECT_DIR: mkdtempSync(join(tmpdir(), "claw-empty-")) });
  assert.equal(r.status, 3);
  assert.match(r.stderr, /\.env\.prod not found/);
  assert.match(r.stdout + r.stderr, /cp templates\/.env.prod.example .env.prod/);
});

test("backup.mts --install-cron proves the line under cron's environment, pins PATH, and twice leaves exactly one line; an invalid expression is refused with exit 2", {
  skip:
    spawnSync("sh", ["-c", "command -v crontab"]).status !== 0
      ? "crontab is not installed"
      : spawnSync("docker", ["info"]).status !== 0 && "the Docker engine is not reachable (the proof runs backup.mts --dry-run)",
}, () => {
  const saved = spawnSync("crontab", ["-l"], { encoding: "utf8" });
  const dir = projectWith(testEnv());
  copyFileSync(join(ROOT, "docker-compose.prod.yml"), join(dir, "docker-compose.prod.yml"));
  try {
    for (let i = 0; i < 2; i++) {
      const r = zx("backup", ["--install-cron", "15 3 * * *"], { CLAW_OPS_PROJECT_DIR: dir });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /running the line under cron's environment \(--dry-run\)/);
      assert.match(r.stdout, /next runs: /);
    }
    const lines = spawnSync("crontab", ["-l"], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((l) => l.includes(dir));
    assert.equal(lines.length, 1, lines.join("\n"));
    const nodeDir = dirname(process.execPath);
    assert.match(
      lines[0]!,
      new RegExp(
        `^15 3 \\* \\* \\* cd ${ROOT} && CLAW_OPS_PROJECT_DIR=${dir} PATH=[^ ]*${nodeDir}[^ ]* npx zx scripts/backup.mts >> ${dir}/logs/backup.log 2>&1$`,
      ),
    );
    const bad = zx("backup", ["--install-cron", "61 * * * *"], { CLAW_OPS_PROJECT_DIR: dir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid cron expression/);
  } finally {
    if (saved.status === 0) spawnSync("crontab", ["-"], { input: saved.stdout });
    else spawnSync("crontab", ["-r"]);
  }
});

test("./scripts/<name>.mts runs like npx zx scripts/<name>.mts (run bit and shebang, as the guide's chmod +x expects)", () => {
  for (const s of [...SCRIPTS, "init-env"]) {
    const r = spawnSync(`./scripts/${s}.mts`, ["--help"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, CLAW_OPS_LANG: "en" },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${s}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${s}\\.mts — `));
  }
});
