import assert from "node:assert/strict";
import { test } from "node:test";
import * as d from "../../../lib/commands/docker.ts";

test("a throwaway drill container has no network and no volumes, keeps stdin open, and carries our labels", () => {
  const argv = d.dockerRunThrowaway("claw", "sha256:abc", ["-c", "echo"], { entrypoint: "sh", user: "postgres" });
  assert.deepEqual(argv, [
    "docker",
    "run",
    "--rm",
    "-i",
    "--network",
    "none",
    "--log-driver",
    "none",
    "--label",
    "ai.claw.ops.oneoff=true",
    "--label",
    "ai.claw.ops.project=claw",
    "--entrypoint",
    "sh",
    "--user",
    "postgres",
    "sha256:abc",
    "-c",
    "echo",
  ]);
  assert.ok(!argv.includes("-v") && !argv.includes("--volumes-from"));
  assert.deepEqual(d.dockerImageOf("f00"), ["docker", "inspect", "--format", "{{.Image}}", "f00"]);
});

test("the engine and compose probes: docker info prints the server version, compose v2 and v1 their own", () => {
  assert.deepEqual(d.dockerInfo(), ["docker", "info", "--format", "{{.ServerVersion}}"]);
  assert.deepEqual(d.composeV2Version(), ["docker", "compose", "version"]);
  assert.deepEqual(d.composeV1Version(), ["docker-compose", "version"]);
});

test("a throwaway container without options keeps the image's entrypoint and user; an empty entrypoint is passed on", () => {
  const fixed = [
    "docker",
    "run",
    "--rm",
    "-i",
    "--network",
    "none",
    "--log-driver",
    "none",
    "--label",
    "ai.claw.ops.oneoff=true",
    "--label",
    "ai.claw.ops.project=claw",
  ];
  assert.deepEqual(d.dockerRunThrowaway("claw", "redis:7", ["redis-server", "--version"]), [...fixed, "redis:7", "redis-server", "--version"]);
  assert.deepEqual(d.dockerRunThrowaway("claw", "img", [], { entrypoint: "" }), [...fixed, "--entrypoint", "", "img"]);
});

test("claw-ops' one-off containers of a project are listed by the project label and ours, and removed by force", () => {
  assert.deepEqual(d.dockerOneOffIds("com.docker.compose.project", "claw"), [
    "docker",
    "ps",
    "-aq",
    "--filter",
    "label=com.docker.compose.project=claw",
    "--filter",
    "label=ai.claw.ops.oneoff=true",
  ]);
  assert.deepEqual(d.dockerOneOffIds(d.THROWAWAY_PROJECT_LABEL, "claw"), [
    "docker",
    "ps",
    "-aq",
    "--filter",
    "label=ai.claw.ops.project=claw",
    "--filter",
    "label=ai.claw.ops.oneoff=true",
  ]);
  assert.deepEqual(d.dockerRemove(["abc", "def"]), ["docker", "rm", "-f", "abc", "def"]);
});

test("docker inspect takes every id in one call", () => {
  assert.deepEqual(d.dockerInspect(["abc", "def"]), ["docker", "inspect", "abc", "def"]);
});

test("docker cp copies between a container path and a local path, in the order given", () => {
  assert.deepEqual(d.dockerCp("abc:/data/dump.rdb", "/tmp/x"), ["docker", "cp", "abc:/data/dump.rdb", "/tmp/x"]);
  assert.deepEqual(d.dockerCp("/tmp/x", "abc:/data/dump.rdb"), ["docker", "cp", "/tmp/x", "abc:/data/dump.rdb"]);
});
