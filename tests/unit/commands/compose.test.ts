import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as c from "../../../lib/commands/compose.ts";
import * as d from "../../../lib/commands/docker.ts";

const v2: c.ComposeProject = { flavor: "v2", files: ["docker-compose.prod.yml"], envFile: ".env.prod", projectName: "claw" };

const v1: c.ComposeProject = { ...v2, flavor: "v1" };

const base = ["docker", "compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];

const base1 = ["docker-compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];

test("base args carry every compose file, the env file and the project name", () => {
  assert.deepEqual(c.baseArgs({ flavor: "v2", files: ["a.yml", "b.yml"], projectDir: "/srv/claw" }), [
    "docker",
    "compose",
    "-f",
    "a.yml",
    "-f",
    "b.yml",
    "--project-directory",
    "/srv/claw",
  ]);
});

test("up --wait is built for v2 and left to health polling on v1", () => {
  assert.deepEqual(c.up(v2, { wait: true, waitTimeoutSec: 120, services: ["redis"] }), [
    ...base,
    "up",
    "-d",
    "--wait",
    "--wait-timeout",
    "120",
    "redis",
  ]);
  assert.deepEqual(c.up(v1, { wait: true, services: ["redis"] }), [...base1, "up", "-d", "redis"]);
  assert.deepEqual(c.up(v2, { noDeps: true, forceRecreate: true, removeOrphans: true }), [
    ...base,
    "up",
    "-d",
    "--no-deps",
    "--force-recreate",
    "--remove-orphans",
  ]);
});

test("ps asks v2 for JSON and v1 for container ids", () => {
  assert.deepEqual(c.ps(v2, { all: true }), [...base, "ps", "-a", "--format", "json"]);
  assert.deepEqual(c.ps(v1), [...base1, "ps", "-q"]);
});

test("exec is non-interactive and passes secrets by variable name only", () => {
  assert.deepEqual(c.exec(v2, "postgres", ["pg_dump", "-Fc"], { envNames: ["PGPASSWORD"], user: "postgres" }), [
    ...base,
    "exec",
    "-T",
    "--user",
    "postgres",
    "-e",
    "PGPASSWORD",
    "postgres",
    "pg_dump",
    "-Fc",
  ]);
});

test("run, stop, start, restart, logs, down, pull, build, cp build exact argv", () => {
  assert.deepEqual(c.runOnce(v2, "claw-ai-backend", ["alembic", "upgrade", "head"], { noDeps: true, entrypoint: "" }), [
    ...base,
    "run",
    "--rm",
    "-T",
    "--label",
    "ai.claw.ops.oneoff=true",
    "--no-deps",
    "--entrypoint",
    "",
    "claw-ai-backend",
    "alembic",
    "upgrade",
    "head",
  ]);
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
  const lines = readFileSync(join(import.meta.dirname, "../../fixtures/compose-ps-2.26.ndjson"), "utf8");
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
  const rows = c.parseInspect(
    JSON.stringify([
      {
        Id: "0123456789abcdef",
        Name: "/claw_ai_redis",
        Config: { Labels: { "com.docker.compose.service": "redis" } },
        State: { Status: "running", ExitCode: 0, Health: { Status: "starting" } },
      },
    ]),
  );
  assert.deepEqual(rows, [{ service: "redis", name: "claw_ai_redis", id: "0123456789ab", state: "running", health: "starting", exitCode: 0 }]);
});

test("a compose healthcheck test becomes the argv exec runs: CMD as is, CMD-SHELL and strings through sh, NONE not at all", () => {
  assert.deepEqual(c.healthcheckArgv(["CMD", "curl", "-fsS", "http://localhost:9091/healthz"]), ["curl", "-fsS", "http://localhost:9091/healthz"]);
  assert.deepEqual(c.healthcheckArgv(["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER"']), ["sh", "-c", 'pg_isready -U "$POSTGRES_USER"']);
  assert.deepEqual(c.healthcheckArgv("redis-cli ping"), ["sh", "-c", "redis-cli ping"]);
  assert.equal(c.healthcheckArgv(["NONE"]), undefined);
  assert.equal(c.healthcheckArgv(undefined), undefined);
});

test("the compose binary is `docker compose` on v2 and `docker-compose` on v1", () => {
  assert.deepEqual(c.composeBinary("v2"), ["docker", "compose"]);
  assert.deepEqual(c.composeBinary("v1"), ["docker-compose"]);
});

test("base args leave out the env file, project name and directory that are not set", () => {
  assert.deepEqual(c.baseArgs({ flavor: "v1", files: ["a.yml"] }), ["docker-compose", "-f", "a.yml"]);
  assert.deepEqual(c.baseArgs({ flavor: "v2", files: [] }), ["docker", "compose"]);
});

test("ps -q names one service's container; config checks quietly only when asked", () => {
  assert.deepEqual(c.psQuiet(v2, "redis"), [...base, "ps", "-q", "redis"]);
  assert.deepEqual(c.psQuiet(v1, "redis"), [...base1, "ps", "-q", "redis"]);
  assert.deepEqual(c.config(v2), [...base, "config"]);
  assert.deepEqual(c.config(v2, { quiet: true }), [...base, "config", "--quiet"]);
});

test("up, down, pull, build and ps leave out the options not given and put services last", () => {
  assert.deepEqual(c.up(v2), [...base, "up", "-d"]);
  assert.deepEqual(c.up(v2, { wait: true }), [...base, "up", "-d", "--wait"]);
  assert.deepEqual(c.up(v2, { noBuild: true, services: ["nginx", "redis"] }), [...base, "up", "-d", "--no-build", "nginx", "redis"]);
  assert.deepEqual(c.down(v2), [...base, "down"]);
  assert.deepEqual(c.down(v2, { removeOrphans: true, timeoutSec: 0 }), [...base, "down", "--remove-orphans", "--timeout", "0"]);
  assert.deepEqual(c.pull(v2), [...base, "pull"]);
  assert.deepEqual(c.build(v2, ["claw-ai-backend"]), [...base, "build", "claw-ai-backend"]);
  assert.deepEqual(c.ps(v2, { services: ["redis"] }), [...base, "ps", "--format", "json", "redis"]);
  assert.deepEqual(c.ps(v1, { all: true, services: ["redis"] }), [...base1, "ps", "-a", "-q", "redis"]);
});

test("stop and restart take a timeout before the services; logs add --since and --follow", () => {
  assert.deepEqual(c.stop(v2, ["redis"]), [...base, "stop", "redis"]);
  assert.deepEqual(c.stop(v2, ["redis"], { timeoutSec: 0 }), [...base, "stop", "--timeout", "0", "redis"]);
  assert.deepEqual(c.restart(v2, ["nginx"], { timeoutSec: 10 }), [...base, "restart", "--timeout", "10", "nginx"]);
  assert.deepEqual(c.logs(v2, [], { since: "10m", follow: true }), [...base, "logs", "--no-color", "--since", "10m", "--follow"]);
  assert.deepEqual(c.logs(v1, ["redis", "nginx"]), [...base1, "logs", "--no-color", "redis", "nginx"]);
});

test("exec and run pass the working directory and variable names; run also the user and the volumes", () => {
  assert.deepEqual(c.exec(v2, "claw-ai-backend", ["ls"], { workdir: "/app", envNames: ["A", "B"] }), [
    ...base,
    "exec",
    "-T",
    "--workdir",
    "/app",
    "-e",
    "A",
    "-e",
    "B",
    "claw-ai-backend",
    "ls",
  ]);
  assert.deepEqual(
    c.runOnce(v2, "minio", ["-c", "x"], {
      entrypoint: "sh",
      user: "root",
      workdir: "/w",
      envNames: ["K"],
      volumes: ["/srv/claw/backups/x:/claw-out"],
    }),
    [
      ...base,
      "run",
      "--rm",
      "-T",
      "--label",
      "ai.claw.ops.oneoff=true",
      "--entrypoint",
      "sh",
      "--user",
      "root",
      "--workdir",
      "/w",
      "-e",
      "K",
      "-v",
      "/srv/claw/backups/x:/claw-out",
      "minio",
      "-c",
      "x",
    ],
  );
  assert.deepEqual(c.runOnce(v1, "redis", []), [...base1, "run", "--rm", "-T", "--label", "ai.claw.ops.oneoff=true", "redis"]);
});

test("hardening row 8: a timed `compose run` carries its own run id label, by which its time limit kills it", () => {
  assert.deepEqual(c.runOnce(v1, "redis", [], { runId: "r1" }), [
    ...base1,
    "run",
    "--rm",
    "-T",
    "--label",
    "ai.claw.ops.oneoff=true",
    "--label",
    "ai.claw.ops.run=r1",
    "redis",
  ]);
});
