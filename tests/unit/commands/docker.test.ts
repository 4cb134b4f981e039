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
    "--init",
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
    "--init",
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

test("an exec by container id carries compose exec's options, with -i only when stdin carries data", () => {
  assert.deepEqual(d.dockerExecWith("abc", ["redis-cli", "ping"]), ["docker", "exec", "abc", "redis-cli", "ping"]);
  assert.deepEqual(d.dockerExecWith("abc", ["pg_restore", "-l"], { stdin: true, user: "postgres", workdir: "/tmp", envNames: ["PGPASSWORD"] }), [
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
  const argv = d.dockerProjectContainers("claw");
  assert.ok(argv.includes("label=com.docker.compose.project=claw"));
  assert.ok(argv.includes("label=com.docker.compose.oneoff=False"));
  assert.deepEqual(d.parseProjectContainers("aaa redis running 1\nbbb claw-ai-backend exited 2\n\n  \nccc flower created\n"), [
    { id: "aaa", service: "redis", state: "running", number: 1 },
    { id: "bbb", service: "claw-ai-backend", state: "exited", number: 2 },
    { id: "ccc", service: "flower", state: "created", number: 0 },
  ]);
});

test("a project container's Docker health is read from the Status that Docker 20.10 prints", () => {
  // Recorded from `docker ps` on the test stack (ids shortened).
  const real = [
    "f77173cc claw-ai-backend running 1 Up 6 minutes (healthy)",
    "3523d9ce redis-exporter running 1 Up 10 minutes",
    "cd8c166d milvus-standalone running 1 Up 3 seconds (health: starting)",
    "089ad27d redis running 1 Up 2 minutes (unhealthy)",
    "8a85e3aa postgres exited 1 Exited (0) 2 minutes ago",
  ].join("\n");
  assert.deepEqual(
    d.parseProjectContainers(real).map((c) => [c.service, c.state, c.health]),
    [
      ["claw-ai-backend", "running", "healthy"],
      ["redis-exporter", "running", undefined],
      ["milvus-standalone", "running", "starting"],
      ["redis", "running", "unhealthy"],
      ["postgres", "exited", undefined],
    ],
  );
});

test("a one-off on a service's mounts gets its image, user, mounts and only the names of its environment", () => {
  const spec = d.parseRunSpec(
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
  const argv = d.dockerRunOnMounts("p", spec.image, spec.mounts, ["-c", "true"], {
    entrypoint: "sh",
    user: spec.user,
    envFile: "/tmp/claw-env-x/env",
    extraVolumes: ["/backups/x:/claw-out"],
  });
  assert.deepEqual(argv, [
    "docker",
    "run",
    "--rm",
    "-i",
    "--init",
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
    "--env-file",
    "/tmp/claw-env-x/env",
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

test("a one-off working beside what serves asks for a lower CPU weight, right after the common head", () => {
  const argv = d.dockerRunOnMounts("p", "img", [{ source: "vol", target: "/data", readOnly: false }], ["-c", "true"], { cpuShares: 256 });
  const i = argv.indexOf("--cpu-shares");
  assert.ok(i > 0, argv.join(" "));
  assert.equal(argv[i + 1], "256");
  assert.ok(i < argv.indexOf("img"), "an option of docker run, not of the command");
  assert.equal(d.dockerRunOnMounts("p", "img", [], ["true"]).includes("--cpu-shares"), false);
});

test("hardening row 3: a container's environment becomes an env file for the container, never the environment of a host process", () => {
  const env = { PATH: "/usr/bin", BASH_ENV: "/tmp/evil.sh", "BASH_FUNC_docker%%": "() { id; }", REDIS_PASSWORD: "s3cret=x y", MULTI: "a\nb" };
  const { text, left } = d.envFileText(env);
  assert.equal(text, "PATH=/usr/bin\nBASH_ENV=/tmp/evil.sh\nREDIS_PASSWORD=s3cret=x y\n");
  assert.deepEqual(left, ["BASH_FUNC_docker%%", "MULTI"]);
  // The builder names the file; no value, and no name to be read from the caller's environment, is in argv.
  const argv = d.dockerRunOnMounts("p", "img", [], ["true"], { envFile: "/tmp/claw-env-1/env" });
  assert.deepEqual(argv.slice(argv.indexOf("--env-file"), argv.indexOf("--env-file") + 2), ["--env-file", "/tmp/claw-env-1/env"]);
  assert.equal(argv.includes("-e"), false);
});

test("a running container's uptime is read from Docker's Status in seconds (go-units' wording)", () => {
  const cases: Array<[string, number | undefined]> = [
    ["Up Less than a second", 0],
    ["Up 1 second (health: starting)", 1],
    ["Up 48 seconds (healthy)", 48],
    ["Up About a minute (healthy)", 60],
    ["Up 6 minutes (healthy)", 360],
    ["Up About an hour", 3600],
    ["Up 3 hours (unhealthy)", 10_800],
    ["Up 2 days", 172_800],
    ["Exited (0) 2 minutes ago", undefined],
    ["Created", undefined],
  ];
  for (const [status, want] of cases) assert.equal(d.upSecondsOf(status), want, status);
  assert.equal(d.parseProjectContainers("f77173cc claw-ai-backend running 1 Up 48 seconds (healthy)")[0]!.upSeconds, 48);
});
