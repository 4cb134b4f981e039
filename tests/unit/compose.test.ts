import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as c from "../../lib/commands/compose.ts";
import * as d from "../../lib/commands/docker.ts";

const v2: c.ComposeProject = { flavor: "v2", files: ["docker-compose.prod.yml"], envFile: ".env.prod", projectName: "claw" };
const v1: c.ComposeProject = { ...v2, flavor: "v1" };
const base = ["docker", "compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];
const base1 = ["docker-compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];

test("base args carry every compose file, the env file and the project name", () => {
  assert.deepEqual(c.baseArgs({ flavor: "v2", files: ["a.yml", "b.yml"], projectDir: "/srv/claw" }),
    ["docker", "compose", "-f", "a.yml", "-f", "b.yml", "--project-directory", "/srv/claw"]);
});

test("up --wait is built for v2 and left to health polling on v1", () => {
  assert.deepEqual(c.up(v2, { wait: true, waitTimeoutSec: 120, services: ["redis"] }), [...base, "up", "-d", "--wait", "--wait-timeout", "120", "redis"]);
  assert.deepEqual(c.up(v1, { wait: true, services: ["redis"] }), [...base1, "up", "-d", "redis"]);
  assert.deepEqual(c.up(v2, { noDeps: true, forceRecreate: true, removeOrphans: true }), [...base, "up", "-d", "--no-deps", "--force-recreate", "--remove-orphans"]);
});

test("ps asks v2 for JSON and v1 for container ids", () => {
  assert.deepEqual(c.ps(v2, { all: true }), [...base, "ps", "-a", "--format", "json"]);
  assert.deepEqual(c.ps(v1), [...base1, "ps", "-q"]);
});

test("exec is non-interactive and passes secrets by variable name only", () => {
  assert.deepEqual(c.exec(v2, "postgres", ["pg_dump", "-Fc"], { envNames: ["PGPASSWORD"], user: "postgres" }),
    [...base, "exec", "-T", "--user", "postgres", "-e", "PGPASSWORD", "postgres", "pg_dump", "-Fc"]);
});

test("run, stop, start, restart, logs, down, pull, build, cp build exact argv", () => {
  assert.deepEqual(c.runOnce(v2, "claw-ai-backend", ["alembic", "upgrade", "head"], { noDeps: true, entrypoint: "" }),
    [...base, "run", "--rm", "-T", "--label", "ai.claw.ops.oneoff=true", "--no-deps", "--entrypoint", "", "claw-ai-backend", "alembic", "upgrade", "head"]);
  assert.deepEqual(c.stop(v2, ["milvus-standalone"], { timeoutSec: 30 }), [...base, "stop", "--timeout", "30", "milvus-standalone"]);
  assert.deepEqual(c.start(v2, ["milvus-standalone"]), [...base, "start", "milvus-standalone"]);
  assert.deepEqual(c.restart(v2, ["nginx"]), [...base, "restart", "nginx"]);
  assert.deepEqual(c.logs(v2, ["redis"], { tail: 50 }), [...base, "logs", "--no-color", "--tail", "50", "redis"]);
  assert.deepEqual(c.down(v2, { volumes: true, timeoutSec: 5 }), [...base, "down", "--volumes", "--timeout", "5"]);
  assert.deepEqual(c.pull(v2, ["nginx"], { ignorePullFailures: true }), [...base, "pull", "--ignore-pull-failures", "nginx"]);
  assert.deepEqual(c.build(v2), [...base, "build"]);
  assert.deepEqual(c.cp(v2, "redis:/data/dump.rdb", "/tmp/x"), [...base, "cp", "redis:/data/dump.rdb", "/tmp/x"]);
  assert.deepEqual(d.dockerCp("abc:/data/dump.rdb", "/tmp/x"), ["docker", "cp", "abc:/data/dump.rdb", "/tmp/x"]);
});

test("ps JSON is parsed from Compose 2.21+ lines and from the older array form", () => {
  const lines = readFileSync(join(import.meta.dirname, "../fixtures/compose-ps-2.26.ndjson"), "utf8");
  const rows = c.parsePsJson(lines);
  assert.ok(rows.length >= 2);
  const redis = rows.find((r) => r.service === "redis");
  assert.equal(redis?.state, "running");
  assert.equal(redis?.health, "healthy");
  const exporter = rows.find((r) => r.service === "redis-exporter");
  assert.equal(exporter?.health, "none");
  const arr = c.parsePsJson(JSON.stringify([{ Service: "x", Name: "n", ID: "1", State: "exited", Health: "", ExitCode: 3 }]));
  assert.deepEqual(arr, [{ service: "x", name: "n", id: "1", state: "exited", health: "none", exitCode: 3 }]);
  assert.deepEqual(c.parsePsJson("\n"), []);
});

test("docker inspect output gives the v1 path the same container states", () => {
  const rows = c.parseInspect(JSON.stringify([{ Id: "0123456789abcdef", Name: "/claw_ai_redis",
    Config: { Labels: { "com.docker.compose.service": "redis" } }, State: { Status: "running", ExitCode: 0, Health: { Status: "starting" } } }]));
  assert.deepEqual(rows, [{ service: "redis", name: "claw_ai_redis", id: "0123456789ab", state: "running", health: "starting", exitCode: 0 }]);
});

test("a throwaway drill container has no network and no volumes, keeps stdin open, and carries our labels", () => {
  const argv = d.dockerRunThrowaway("claw", "sha256:abc", ["-c", "echo"], { entrypoint: "sh", user: "postgres" });
  assert.deepEqual(argv, ["docker", "run", "--rm", "-i", "--network", "none", "--log-driver", "none", "--label", "ai.claw.ops.oneoff=true", "--label", "ai.claw.ops.project=claw",
    "--entrypoint", "sh", "--user", "postgres", "sha256:abc", "-c", "echo"]);
  assert.ok(!argv.includes("-v") && !argv.includes("--volumes-from"));
  assert.deepEqual(d.dockerImageOf("f00"), ["docker", "inspect", "--format", "{{.Image}}", "f00"]);
});

test("a compose healthcheck test becomes the argv exec runs: CMD as is, CMD-SHELL and strings through sh, NONE not at all", () => {
  assert.deepEqual(c.healthcheckArgv(["CMD", "curl", "-fsS", "http://localhost:9091/healthz"]), ["curl", "-fsS", "http://localhost:9091/healthz"]);
  assert.deepEqual(c.healthcheckArgv(["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER"']), ["sh", "-c", 'pg_isready -U "$POSTGRES_USER"']);
  assert.deepEqual(c.healthcheckArgv("redis-cli ping"), ["sh", "-c", "redis-cli ping"]);
  assert.equal(c.healthcheckArgv(["NONE"]), undefined);
  assert.equal(c.healthcheckArgv(undefined), undefined);
});
