import assert from "node:assert/strict";
import { test } from "node:test";
import * as c from "../../../lib/commands/compose.ts";
import * as d from "../../../lib/commands/docker.ts";

const v2: c.ComposeProject = { flavor: "v2", files: ["docker-compose.prod.yml"], envFile: ".env.prod", projectName: "claw" };
const v1: c.ComposeProject = { ...v2, flavor: "v1" };
const base = ["docker", "compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];
const base1 = ["docker-compose", "-f", "docker-compose.prod.yml", "--env-file", ".env.prod", "-p", "claw"];

test("a rollout's up starts one more container beside the running ones: --no-deps --no-recreate --scale, then the service", () => {
  const o = { services: ["claw-ai-backend"], noDeps: true, noRecreate: true, scale: { "claw-ai-backend": 2 } };
  assert.deepEqual(c.up(v2, o), [...base, "up", "-d", "--no-deps", "--no-recreate", "--scale", "claw-ai-backend=2", "claw-ai-backend"]);
  assert.deepEqual(c.up(v1, o), [...base1, "up", "-d", "--no-deps", "--no-recreate", "--scale", "claw-ai-backend=2", "claw-ai-backend"]);
});

test("up scales every service given, one --scale each, after the other flags", () => {
  assert.deepEqual(c.up(v2, { wait: true, removeOrphans: true, scale: { "celery-worker": 4, "claw-ai-backend": 1 } }), [
    ...base,
    "up",
    "-d",
    "--wait",
    "--remove-orphans",
    "--scale",
    "celery-worker=4",
    "--scale",
    "claw-ai-backend=1",
  ]);
  assert.deepEqual(c.up(v2, { noRecreate: false, scale: {} }), [...base, "up", "-d"]);
});

test("docker stop gives each container the grace period before SIGKILL", () => {
  assert.deepEqual(d.dockerStop(["a1", "b2"], 300), ["docker", "stop", "-t", "300", "a1", "b2"]);
  assert.deepEqual(d.dockerStop(["a1"], 0), ["docker", "stop", "-t", "0", "a1"]);
  assert.deepEqual(d.dockerStop(["a1"]), ["docker", "stop", "a1"], "no -t: the container's own StopTimeout");
});

test("docker exec runs a command in one container by id, without a TTY", () => {
  assert.deepEqual(d.dockerExec("f00", ["sh", "-c", "celery inspect ping"]), ["docker", "exec", "f00", "sh", "-c", "celery inspect ping"]);
  assert.ok(!d.dockerExec("f00", ["true"]).some((a) => a === "-t" || a === "-it"));
});

test("docker logs --tail, and the health record as JSON", () => {
  assert.deepEqual(d.dockerLogs("f00", 20), ["docker", "logs", "--tail", "20", "f00"]);
  assert.deepEqual(d.dockerHealthLog("f00"), ["docker", "inspect", "--format", "{{json .State.Health}}", "f00"]);
});

test("image inspection prints the id and the repo digests, comma-terminated", () => {
  assert.deepEqual(d.dockerImageInspect("ghcr.io/claw/backend:1.2"), [
    "docker",
    "image",
    "inspect",
    "--format",
    "{{.Id}} {{range .RepoDigests}}{{.}},{{end}}",
    "ghcr.io/claw/backend:1.2",
  ]);
});

test("the local tags of one repository, as `repo:tag id` lines", () => {
  assert.deepEqual(d.dockerImageTags("ghcr.io/claw/backend"), [
    "docker",
    "image",
    "ls",
    "--filter",
    "reference=ghcr.io/claw/backend",
    "--format",
    "{{.Repository}}:{{.Tag}} {{.ID}}",
  ]);
});

test("an image tag is removed without force, and pulled quietly", () => {
  assert.deepEqual(d.dockerImageRemove("ghcr.io/claw/backend:1.0"), ["docker", "image", "rm", "ghcr.io/claw/backend:1.0"]);
  assert.deepEqual(d.dockerPull("ghcr.io/claw/backend:1.2"), ["docker", "pull", "--quiet", "ghcr.io/claw/backend:1.2"]);
  assert.ok(!d.dockerImageRemove("x:1").includes("-f") && !d.dockerImageRemove("x:1").includes("--force"));
});

test("a container's state is '<status> <exit code>'", () => {
  assert.deepEqual(d.dockerState("f00"), ["docker", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "f00"]);
});

test("stopped containers are removed without -f and without their volumes", () => {
  assert.deepEqual(d.dockerRemoveStopped(["a1", "b2"]), ["docker", "rm", "a1", "b2"]);
});

test("the containers publishing a host port, with their compose project", () => {
  assert.deepEqual(d.dockerPublishers(5432), [
    "docker",
    "ps",
    "--filter",
    "publish=5432",
    "--format",
    '{{.Names}} {{.Label "com.docker.compose.project"}}',
  ]);
});

test("every container id, and the image id each one was created from", () => {
  assert.deepEqual(d.dockerAllContainerIds(), ["docker", "ps", "-aq"]);
  assert.deepEqual(d.dockerImageIdsOf(["a1", "b2"]), ["docker", "inspect", "--format", "{{.Image}}", "a1", "b2"]);
});

test("runsDefinition: the same image reference and id and every variable of the model, or it is not up to date", async () => {
  const { runsDefinition } = await import("../../../lib/commands/compose.ts");
  const want = { image: "claw/app:v2", imageId: "sha256:aa", environment: { APP_VERSION: "v2", EMPTY: null } };
  const have = { image: "claw/app:v2", imageId: "sha256:aa", env: ["PATH=/usr/bin", "APP_VERSION=v2"] };
  assert.equal(runsDefinition(want, have), true);
  // Two tags of one image: the reference differs (the version comes from it).
  assert.equal(runsDefinition(want, { ...have, image: "claw/app:local" }), false);
  // The same tag rebuilt: another image id.
  assert.equal(runsDefinition(want, { ...have, imageId: "sha256:bb" }), false);
  // A value changed in .env.prod since the container was made.
  assert.equal(runsDefinition(want, { ...have, env: ["APP_VERSION=v1"] }), false);
});
