import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BACKEND_CONF, backendConf, nginxDrainingWorkers, nginxReload, nginxTest, parseBackendConf } from "../../../lib/commands/nginx.ts";
import { assertShellSyntax } from "../helpers.ts";

test("nginx -t -q tests the config, nginx -s reload reloads it gracefully", () => {
  assert.deepEqual(nginxTest(), ["nginx", "-t", "-q"]);
  assert.deepEqual(nginxReload(), ["nginx", "-s", "reload"]);
});

test("the draining-workers count is a grep of /proc cmdlines piped to wc -l, in sh", () => {
  const argv = nginxDrainingWorkers();
  assert.deepEqual(argv, ["sh", "-c", "grep -ls 'shutting[ ]down' /proc/[0-9]*/cmdline 2>/dev/null | wc -l"]);
  assertShellSyntax(argv[2]!);
});

test("the draining-workers pattern cannot match its own command line, only a worker that is shutting down", () => {
  const script = nginxDrainingWorkers()[2]!;
  assert.ok(script.includes("shutting[ ]down"));
  assert.ok(!script.includes("shutting down"));
  // What /proc/<pid>/cmdline holds: argv joined by NULs. The sh -c and the grep carry the pattern, not the text.
  const grep = (text: string) => spawnSync("grep", ["-c", "shutting[ ]down"], { input: text, encoding: "utf8" }).stdout.trim();
  assert.equal(grep(["sh", "-c", script].join("\0")), "0");
  assert.equal(grep(["grep", "-ls", "shutting[ ]down", "/proc/1/cmdline"].join("\0")), "0");
  assert.equal(grep("nginx: worker process is shutting down\0"), "1");
  assert.equal(grep("nginx: worker process\0"), "0");
});

test("live/backend.conf names the container nginx sends requests to, with the note on one comment line", () => {
  assert.equal(BACKEND_CONF, "nginx/live/backend.conf");
  assert.equal(
    backendConf("claw-ai-claw-ai-backend-2", 8000, "release 20260301-120000,\n1.2"),
    "# Written by deploy.mts (release 20260301-120000, 1.2): the backend container nginx sends requests to.\nset $backend http://claw-ai-claw-ai-backend-2:8000;\n",
  );
});

test("parseBackendConf reads back what backendConf wrote", () => {
  for (const [host, port] of [
    ["claw-ai-backend", 8000],
    ["claw_ai_backend.1", 8080],
    ["a", 1],
  ] as const) {
    assert.deepEqual(parseBackendConf(backendConf(host, port, "note")), { host, port });
  }
});

test("parseBackendConf tolerates indentation and blanks, and finds nothing in a file without the line", () => {
  assert.deepEqual(parseBackendConf("# hand-written\n  set   $backend   http://claw-ai-backend:8000 ;\n"), { host: "claw-ai-backend", port: 8000 });
  assert.equal(parseBackendConf(""), undefined);
  assert.equal(parseBackendConf("# set $backend http://x:1;\n"), undefined);
  assert.equal(parseBackendConf("set $backend https://x:1;\n"), undefined);
  assert.equal(parseBackendConf("set $backend http://x;\n"), undefined);
});

test("backendConf refuses a name that is not a container name (nothing can be injected into nginx's config)", () => {
  for (const host of ["x;\n}", "x y", "-x", "", "x:1", "$host", "x/y", "../x", ".x"]) {
    assert.throws(() => backendConf(host, 8000, "n"), /not a container name/, JSON.stringify(host));
  }
});
