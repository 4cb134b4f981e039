/**
 * Our one-off containers on the real Docker engine: a time limit ends a hung one-off (hardening
 * row 8), and a container's environment never reaches a process on the host (row 3).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { dockerRunOnMounts, envFileText } from "../../lib/commands/docker.ts";
import { CommandError } from "../../lib/core/errors.ts";
import { run } from "../../lib/core/exec.ts";
import { ComposeClient } from "../../lib/infra/compose-client.ts";
import { ensureImages, imageRef } from "../stack/images.ts";

describe("one-off containers on the real Docker engine", { timeout: 300_000 }, () => {
  before(async () => {
    await ensureImages((m) => process.stderr.write(`[images] ${m}\n`));
  });

  test("hardening row 8: a hung one-off (sh as its command) is ended at its time limit, and says it was the limit", async () => {
    const argv = dockerRunOnMounts("clawtest-oneoffs", imageRef("base"), [], ["-c", "sleep 300"], { entrypoint: "sh" });
    const t0 = Date.now();
    const err = await run({ argv }, { timeoutMs: 3000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const secs = (Date.now() - t0) / 1000;
    assert.ok(err instanceof CommandError, String(err));
    assert.match(err.message, /time limit ran out/);
    assert.ok(secs < 30, `ended after ${secs} s, not at its 3 s limit`);
    const left = await run({ argv: ["docker", "ps", "-q", "--filter", "label=ai.claw.ops.project=clawtest-oneoffs"] });
    assert.equal(left.stdout.trim(), "", "no container is left running");
  });

  test("hardening row 8: a hung `compose run` one-off (sh as PID 1, which ignores SIGTERM) is ended at its time limit, and says it was the limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "claw-row8-"));
    const file = join(dir, "docker-compose.yml");
    writeFileSync(file, `services:\n  worker:\n    image: ${imageRef("base")}\n    command: ["sleep", "1"]\n`);
    const compose = new ComposeClient({ flavor: "v2", files: [file], projectName: "clawtest-row8", projectDir: dir });
    try {
      const t0 = Date.now();
      const err = await compose.runOnce("worker", ["-c", "sleep 300"], { entrypoint: "sh", noDeps: true }, { timeoutMs: 3000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const secs = (Date.now() - t0) / 1000;
      assert.ok(err instanceof CommandError, String(err));
      assert.match(err.message, /SIGKILL \(its 3 s time limit ran out\)/);
      assert.ok(secs < 25, `ended after ${secs} s, not at its 3 s limit (the backstop SIGTERM comes at 33 s)`);
      const left = await run({ argv: ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=clawtest-row8"] });
      assert.equal(left.stdout.trim(), "", "no container is left behind");
      const quiet = await compose.runOnce("worker", ["-c", "exit 0"], { entrypoint: "sh", noDeps: true }, { timeoutMs: 60_000 });
      assert.equal(quiet.status, 0, "a one-off that ends in time is not touched");
    } finally {
      await run({ argv: ["docker", "compose", "-p", "clawtest-row8", "-f", file, "down", "--remove-orphans"] }, { allowFailure: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("hardening row 3: BASH_ENV in a container's environment reaches the container only, never a shell on the host", async () => {
    const dir = mkdtempSync(join(tmpdir(), "claw-row3-"));
    const marker = join(dir, "ran-on-host");
    const evil = join(dir, "evil.sh");
    writeFileSync(evil, `touch ${marker}\n`, { mode: 0o755 });
    const envFile = join(dir, "env");
    writeFileSync(envFile, envFileText({ BASH_ENV: evil, CLAW_PROBE: "inside" }).text, { mode: 0o600 });
    try {
      const argv = dockerRunOnMounts("clawtest-oneoffs", imageRef("base"), [], ["-c", 'echo "$CLAW_PROBE"'], { entrypoint: "sh", envFile });
      const r = await run({ argv });
      assert.equal(r.stdout.trim(), "inside", "the container has its environment");
      assert.equal(existsSync(marker), false, "the host's shell never sourced the container's BASH_ENV");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
