import assert from "node:assert/strict";
import { test } from "node:test";
import { dockerExecWith, dockerProjectContainers, dockerRunOnMounts, parseProjectContainers, parseRunSpec } from "../../../lib/commands/docker.ts";

test("an exec by container id carries compose exec's options, with -i only when stdin carries data", () => {
  assert.deepEqual(dockerExecWith("abc", ["redis-cli", "ping"]), ["docker", "exec", "abc", "redis-cli", "ping"]);
  assert.deepEqual(dockerExecWith("abc", ["pg_restore", "-l"], { stdin: true, user: "postgres", workdir: "/tmp", envNames: ["PGPASSWORD"] }), [
    "docker",
    "exec",
    "-i",
    "--user",
    "postgres",
    "--workdir",
    "/tmp",
    "-e",
    "PGPASSWORD",
    "abc",
    "pg_restore",
    "-l",
  ]);
});

test("a project's containers are found by Compose's labels, one-offs left out, and parsed per line", () => {
  const argv = dockerProjectContainers("claw");
  assert.ok(argv.includes("label=com.docker.compose.project=claw"));
  assert.ok(argv.includes("label=com.docker.compose.oneoff=False"));
  assert.deepEqual(parseProjectContainers("aaa redis running 1\nbbb claw-ai-backend exited 2\n\n  \nccc flower created\n"), [
    { id: "aaa", service: "redis", state: "running", number: 1 },
    { id: "bbb", service: "claw-ai-backend", state: "exited", number: 2 },
    { id: "ccc", service: "flower", state: "created", number: 0 },
  ]);
});

test("a one-off on a service's mounts gets its image, user, mounts and only the names of its environment", () => {
  const spec = parseRunSpec(
    JSON.stringify([
      {
        Image: "sha256:1",
        Config: { User: "999", Env: ["PATH=/bin", "REDIS_PASSWORD=s3cret=x"] },
        Mounts: [
          { Type: "volume", Name: "p_redis_data", Source: "/var/lib/docker/volumes/p_redis_data/_data", Destination: "/data", RW: true },
          { Type: "bind", Source: "/srv/redis.conf", Destination: "/etc/redis.conf", RW: false },
          { Type: "tmpfs", Source: "", Destination: "/tmp", RW: true },
        ],
      },
    ]),
  );
  assert.deepEqual(spec.env, { PATH: "/bin", REDIS_PASSWORD: "s3cret=x" });
  const argv = dockerRunOnMounts("p", spec.image, spec.mounts, ["-c", "true"], {
    entrypoint: "sh",
    user: spec.user,
    envNames: Object.keys(spec.env),
    extraVolumes: ["/backups/x:/claw-out"],
  });
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
    "ai.claw.ops.project=p",
    "-v",
    "p_redis_data:/data",
    "-v",
    "/srv/redis.conf:/etc/redis.conf:ro",
    "-v",
    "/backups/x:/claw-out",
    "-e",
    "PATH",
    "-e",
    "REDIS_PASSWORD",
    "--entrypoint",
    "sh",
    "--user",
    "999",
    "sha256:1",
    "-c",
    "true",
  ]);
  assert.ok(!argv.some((a) => a.includes("s3cret")), "a secret value never enters argv");
});
