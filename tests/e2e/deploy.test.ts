/**
 * deploy.mts on the real stack: refusals that change nothing, the first deploy from nothing,
 * --dry-run, a deploy under load (HTTPS, 4 keep-alive connections, GET and POST: 0 failed
 * requests, /version switches once and never back) with a 20 s Celery task and beat ticks, a
 * release that fails its health check, --rollback-release, and a deploy killed mid-rollout.
 * One stack, shared in order; each test also runs alone (memoized fixtures).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { markSwapping } from "../../lib/backup/recover.ts";
import { run } from "../../lib/core/exec.ts";
import { LOCK_FILE } from "../../lib/core/lock.ts";
import { once } from "../stack/fixtures.ts";
import { createStack, type TestStack } from "../stack/harness.ts";
import { buildBrokenRelease, ensureImages, imageRef, tagAppRelease } from "../stack/images.ts";
import { formatLoadReport, type LoadReport, startLoad } from "../stack/load.ts";
import { runScript, type ScriptRun, startScript, tailOf } from "../stack/scripts.ts";
import { type Fingerprint, fingerprint, seed } from "../stack/state.ts";

const log = (m: string) => process.stderr.write(`[deploy-e2e] ${m}\n`);

interface Status {
  ok: boolean;
  release: { id: string; tag: string } | null;
  envTag: string;
  servingBackend: string | null;
  backendContainers: string[];
  lastDeploy: { result: string; tag: string } | null;
}
interface Release {
  id: string;
  tag: string;
  result: string;
  serving: boolean;
  kind: string;
  preDeployBackup?: string | null;
  phases?: Array<{ name: string; result: string }>;
}

describe("deploy.mts on the real stack", { timeout: 3_600_000 }, () => {
  let stack: TestStack;
  const deploy = (args: string[]) => runScript(stack, "deploy", args);
  const ok = async (args: string[]): Promise<ScriptRun> => {
    const r = await deploy(args);
    assert.equal(r.status, 0, `deploy ${args.join(" ")}: ${tailOf(r, 40)}`);
    return r;
  };
  const status = async (): Promise<Status> => JSON.parse((await deploy(["--status", "--json"])).stdout) as Status;
  const releases = async (): Promise<Release[]> => JSON.parse((await ok(["--list-releases", "--json"])).stdout) as Release[];
  /** Containers of the project (id and name), volumes, and the hash of every file of the project dir. */
  const world = async () => {
    const ps = await run({
      argv: ["docker", "ps", "-a", "--filter", `label=com.docker.compose.project=${stack.name}`, "--format", "{{.ID}} {{.Names}}"],
    });
    const vols = await run({ argv: ["docker", "volume", "ls", "-q", "--filter", `label=com.docker.compose.project=${stack.name}`] });
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d).sort()) {
        const p = join(d, n);
        const rel = relative(stack.dir, p);
        if (rel === "logs" || rel === "uploads") continue;
        const s = statSync(p);
        if (s.isDirectory()) walk(p);
        else files.push(`${rel} ${s.mode.toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`);
      }
    };
    walk(stack.dir);
    return { containers: ps.stdout.trim().split("\n").sort(), volumes: vols.stdout.trim().split("\n").sort(), files };
  };
  /** Load through nginx for the whole of `fn`. */
  const underLoad = async (fn: () => Promise<ScriptRun>): Promise<{ r: ScriptRun; load: LoadReport }> => {
    const load = startLoad({ port: stack.httpsPort, ca: stack.caCert, connections: 4, retryStaleKeepAlive: true });
    await new Promise((res) => setTimeout(res, 1000));
    const r = await fn();
    await new Promise((res) => setTimeout(res, 1000));
    const report = await load.stop();
    log(formatLoadReport(report));
    return { r, load: report };
  };

  before(async () => {
    await ensureImages((m) => log(`[images] ${m}`));
    await tagAppRelease("v2");
    await tagAppRelease("v3");
    await buildBrokenRelease("broken");
    stack = await createStack({ env: { BEAT_TICK_SECONDS: "1" } });
  });

  after(async () => {
    await stack?.down();
  });

  test("refused before anything changes: a busy port, a missing .env.prod, a placeholder secret, an unreachable Docker daemon", async () => {
    const before = await world();
    const envFile = join(stack.dir, ".env.prod");
    const expect3 = async (what: string, args: string[], re: RegExp, env?: NodeJS.ProcessEnv) => {
      const r = await runScript(env ? { ...stack, scriptEnv: { ...stack.scriptEnv, ...env } } : stack, "deploy", args);
      assert.equal(r.status, 3, `${what}: ${tailOf(r)}`);
      assert.match(r.stdout + r.stderr, re, what);
    };
    const server = createServer();
    await new Promise<void>((res) => server.listen(stack.httpsPort, "0.0.0.0", res));
    try {
      await expect3("busy port", [], new RegExp(`port ${stack.httpsPort} \\(nginx\\) is in use by another program`));
    } finally {
      await new Promise((res) => server.close(res));
    }
    renameSync(envFile, `${envFile}.away`);
    try {
      await expect3("missing .env.prod", [], /\.env\.prod not found/);
    } finally {
      renameSync(`${envFile}.away`, envFile);
    }
    const original = readFileSync(envFile);
    writeFileSync(envFile, original.toString().replace(/^POSTGRES_PASSWORD=.*$/m, "POSTGRES_PASSWORD=change_this_postgres_password"));
    try {
      await expect3("placeholder secret", [], /POSTGRES_PASSWORD/);
    } finally {
      writeFileSync(envFile, original);
    }
    await expect3("Docker unreachable", [], /Docker engine is not reachable/, { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    const after = await world();
    assert.deepEqual(after, before, "nothing changed: no container, no volume, every file as it was");
    assert.deepEqual(after.containers, [""], "no container was created");
  });

  /** The first deploy from nothing (the demo's path), then seeded data to watch. */
  const firstDeploy = once(async (): Promise<{ data: Fingerprint }> => {
    const r = await ok(["-y"]);
    assert.match(r.stdout, /serves; deployed in/);
    await seed(stack);
    return { data: await fingerprint(stack) };
  });

  test("the first deploy from nothing reaches a healthy stack; --list-releases and --status show it", async () => {
    await firstDeploy();
    const s = await status();
    assert.equal(s.ok, true, JSON.stringify(s));
    assert.equal(s.release?.tag, "local");
    assert.equal(s.backendContainers.length, 1);
    assert.equal(s.servingBackend, "claw-ai-backend", "at rest nginx names the service");
    const rel = await releases();
    assert.equal(rel.length, 1);
    assert.equal(rel[0]!.result, "succeeded");
    assert.equal(rel[0]!.serving, true);
    const health = await stack.https("/health");
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { version: string }).version, "local");
  });

  test("--dry-run prints the plan and changes nothing (container ids, volumes, files)", async () => {
    await firstDeploy();
    const before = await world();
    const r = await ok(["--tag", "v2", "--dry-run"]);
    assert.match(r.stdout, /rollout +claw-ai-backend \(beside the old, then nginx switched\)/);
    assert.match(r.stdout, /dry run: nothing was changed/);
    assert.deepEqual(await world(), before);
  });

  const underLoadDeploy = once(async () => {
    await firstDeploy();
    // A 20 s task the old worker is running when the deploy replaces it.
    const task = await stack.https("/api/test/tasks/slow", { method: "POST", body: JSON.stringify({ seconds: 20, key: "t-slow-task" }) });
    assert.equal(task.status, 200, task.body);
    await new Promise((res) => setTimeout(res, 2000));
    const out = await underLoad(() => deploy(["--tag", "v2", "--json"]));
    return out;
  });

  test("a deploy under load: 0 failed requests, /version switches to the new tag once and never back", async () => {
    const { r, load } = await underLoadDeploy();
    assert.equal(r.status, 0, tailOf(r, 40));
    assert.equal(load.failed, 0, JSON.stringify(load.failures.slice(0, 5)));
    assert.ok(load.sent > 1000, `requests sent: ${load.sent}`);
    assert.deepEqual(
      load.versions.map((v) => v.version),
      ["local", "v2"],
    );
    assert.equal(load.wentBack, false, JSON.stringify(load.wentBackAt));
    // nginx reloads 3 times (pin, switch, at rest); each may reset the keep-alive connections (4) that had a request in flight.
    assert.ok(load.staleRetries <= 12, `stale keep-alive resends: ${load.staleRetries}`);
    const outcome = JSON.parse(r.stdout) as { ok: boolean; preDeployBackup: string; phases: Array<{ name: string; result: string }> };
    assert.equal(outcome.ok, true);
    assert.match(outcome.preDeployBackup, /^backups\/pre-deploy\/\d{8}-\d{6}$/);
    const rel = await releases();
    assert.equal(rel[0]!.tag, "v2");
    assert.equal(rel[0]!.result, "succeeded");
  });

  test("a Celery task that runs 20 s, started before the deploy, completes; beat never runs twice", async () => {
    await underLoadDeploy();
    const done = await stack.https("/api/test/cache/t-slow-task");
    assert.equal(done.status, 200, `the 20 s task's result: ${done.body}`);
    const ticks = (JSON.parse((await stack.https("/api/test/beat-ticks")).body) as { ticks: string[] }).ticks.map((t) => {
      const [at, host] = t.split(" ");
      return { at: Number(at), host: host! };
    });
    assert.ok(ticks.length > 10, `beat ticks: ${ticks.length}`);
    // Two beats at once would interleave their hosts; one after the other, each host is one block.
    const blocks = ticks.filter((t, i) => i === 0 || t.host !== ticks[i - 1]!.host).map((t) => t.host);
    // (Tick times are when a worker ran them, so a worker swap can bunch them: only the order counts.)
    assert.ok(blocks.length >= 2, `the deploy replaced beat: ${blocks.join(" → ")}`);
    assert.equal(new Set(blocks).size, blocks.length, `beat hosts interleave: ${blocks.join(" → ")}`);
  });

  test("a release whose health check fails never serves: the old one serves throughout, exit non-zero naming the check, the ledger says failed", async () => {
    await underLoadDeploy();
    const { r, load } = await underLoad(() => deploy(["--tag", "broken", "--skip-backup"]));
    assert.equal(r.status, 1, tailOf(r, 40));
    const text = r.stdout + r.stderr;
    assert.match(text, /failed its health check/);
    assert.match(text, /health check: exit 1: .*503/);
    assert.match(text, /last 20 log lines:/);
    assert.match(text, /serving now: v2/);
    assert.equal(load.failed, 0, JSON.stringify(load.failures.slice(0, 5)));
    assert.deepEqual(
      load.versions.map((v) => v.version),
      ["v2"],
    );
    const rel = await releases();
    assert.equal(rel[0]!.tag, "broken");
    assert.equal(rel[0]!.result, "failed");
    assert.equal(rel.find((x) => x.serving)?.tag, "v2");
    const s = await status();
    assert.equal(s.envTag, "v2", ".env.prod still names the release that serves");
    assert.equal(s.backendContainers.length, 1);
  });

  test("--rollback-release goes back to the previous release under load, with no pull", async () => {
    await underLoadDeploy();
    const { r, load } = await underLoad(() => deploy(["--rollback-release", "--skip-backup", "--json"]));
    assert.equal(r.status, 0, tailOf(r, 40));
    assert.equal(load.failed, 0, JSON.stringify(load.failures.slice(0, 5)));
    assert.deepEqual(
      load.versions.map((v) => v.version),
      ["v2", "local"],
    );
    assert.equal(load.wentBack, false);
    const outcome = JSON.parse(r.stdout) as { phases: Array<{ name: string; result: string; note?: string }> };
    const images = outcome.phases.find((p) => p.name === "images");
    assert.equal(images?.result, "skipped", "nothing pulled");
    assert.equal(outcome.phases.find((p) => p.name === "migrations")?.result, "skipped");
    const s = await status();
    assert.equal(s.release?.tag, "local");
    assert.equal(s.envTag, "local");
  });

  test("a restore after a deploy restarts the backend and nginx still reaches it (nginx names the service at rest)", async () => {
    const { r } = await underLoadDeploy();
    const backup = (JSON.parse(r.stdout) as { preDeployBackup: string }).preDeployBackup;
    const rb = await runScript(stack, "rollback", ["--backup", backup, "--skip-redis", "--skip-milvus", "--skip-uploads", "--skip-config", "-y"]);
    assert.equal(rb.status, 0, tailOf(rb, 30));
    const h = await stack.https("/health");
    assert.equal(h.status, 200, h.body);
    assert.match(readFileSync(join(stack.dir, "nginx/live/backend.conf"), "utf8"), /set \$backend http:\/\/claw-ai-backend:8000;/);
  });

  test("SIGKILL in the middle of the rollout: the next deploy says what was interrupted and brings the stack to one release", async () => {
    await underLoadDeploy();
    const run1 = startScript(stack, "deploy", ["--tag", "v3", "--skip-backup"]);
    const deadline = Date.now() + 180_000;
    while (!/start the new claw-ai-backend beside the old: done/.test(run1.output()) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
    }
    process.kill(-run1.child.pid!, "SIGKILL");
    await run1.done;
    const mid = await status();
    assert.equal(mid.backendContainers.length, 2, "killed with the new backend beside the old");
    assert.equal(mid.lastDeploy?.result, "started");
    // The stack still serves (nginx was never switched).
    assert.equal((await stack.https("/health")).status, 200);
    const r = await ok(["--tag", "v3", "--skip-backup"]);
    assert.match(r.stdout + r.stderr, /did not finish: its deploy died during "rollout"/);
    assert.match(r.stdout + r.stderr, /lock was recovered/);
    const s = await status();
    assert.equal(s.ok, true);
    assert.equal(s.release?.tag, "v3");
    assert.equal(s.backendContainers.length, 1);
    const rel = await releases();
    assert.equal(rel[1]!.result, "interrupted");
  });

  test("volumes and their data survive every deploy (fingerprints before and after)", async () => {
    const { data } = await firstDeploy();
    assert.deepEqual(await fingerprint(stack), data);
  });

  test("hardening row 4: after a restore killed mid-swap of Redis, backup.mts, rollback.mts, migrate.mts and deploy.mts -y each put the volume back before starting anything; the pre-deploy backup holds the real keys", async () => {
    const { r } = await underLoadDeploy();
    const backup = (JSON.parse(r.stdout) as { preDeployBackup: string }).preDeployBackup;
    const redisOnly = ["--backup", backup, "--skip-db", "--skip-milvus", "--skip-uploads", "--skip-config", "-y"];
    // Then the backup's Redis is what runs: each restore of it below ends where it began.
    const rb0 = await runScript(stack, "rollback", redisOnly);
    assert.equal(rb0.status, 0, tailOf(rb0, 30));
    const before = await fingerprint(stack);
    /**
     * What a Redis-only restore killed mid-swap leaves: its lock (the process is SIGKILLed once
     * it holds it), Redis stopped, the swap mark, and every live entry moved into the
     * `.partial` directory, the live data directory empty.
     */
    let deadLock: string | undefined;
    const killedMidSwap = async () => {
      const lockFile = join(stack.dir, LOCK_FILE);
      if (deadLock === undefined) {
        const dead = startScript(stack, "rollback", redisOnly);
        const deadline = Date.now() + 60_000;
        while (!existsSync(lockFile) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        process.kill(-dead.child.pid!, "SIGKILL");
        await dead.done;
        assert.ok(existsSync(lockFile), "the dead restore left its lock");
        deadLock = readFileSync(lockFile, "utf8");
      } else {
        // The same dead run's lock again, byte for byte (its pid stays dead): each entry point
        // below meets exactly what the one real kill left, without a script start per kill.
        writeFileSync(lockFile, deadLock, { mode: 0o600 });
      }
      const id = (
        await run({
          argv: [
            "docker",
            "ps",
            "-aq",
            "--filter",
            `label=com.docker.compose.project=${stack.name}`,
            "--filter",
            "label=com.docker.compose.service=redis",
          ],
        })
      ).stdout.trim();
      await run({ argv: ["docker", "stop", id] });
      markSwapping(stack.dir);
      const p = ".claw-kept-20200101-000000.partial";
      await run({
        argv: [
          "docker",
          "run",
          "--rm",
          "--volumes-from",
          id,
          imageRef("base"),
          "sh",
          "-c",
          `cd /data && mkdir ${p} && find . -mindepth 1 -maxdepth 1 ! -name '.claw-*' -exec mv {} ${p}/ \\; && [ -z "$(ls -A | grep -v '^\\.claw-')" ]`,
        ],
      });
    };
    const putBack = (what: string, x: ScriptRun) => {
      assert.equal(x.status, 0, `${what}: ${tailOf(x, 30)}`);
      assert.match(x.stdout + x.stderr, /redis: moved back \.claw-kept-20200101-000000\.partial/, what);
    };
    await killedMidSwap();
    putBack("backup.mts", await runScript(stack, "backup", ["--only", "redis"]));
    assert.deepEqual((await fingerprint(stack)).redis, before.redis, "backup.mts: Redis serves its own data");
    await killedMidSwap();
    putBack("rollback.mts", await runScript(stack, "rollback", redisOnly));
    assert.deepEqual((await fingerprint(stack)).redis, before.redis, "rollback.mts");
    await killedMidSwap();
    putBack("migrate.mts", await runScript(stack, "migrate", ["--skip-backup"]));
    await killedMidSwap();
    const d = await deploy(["-y", "--skip-migrations", "--json"]);
    putBack("deploy.mts", d);
    assert.deepEqual((await fingerprint(stack)).redis, before.redis, "deploy.mts");
    const pre = (JSON.parse(d.stdout) as { preDeployBackup: string }).preDeployBackup;
    const m = JSON.parse(readFileSync(join(stack.dir, pre, "manifest.json"), "utf8")) as { components: { redis: { counts: { keys: number } } } };
    assert.ok(m.components.redis.counts.keys > 0, "the pre-deploy backup holds Redis' keys, not a fresh empty dataset");
  });
});
