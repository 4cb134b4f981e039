import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitCode, PreconditionError } from "../../../lib/core/errors.ts";
import { checkHooks, HOOKS, publishedPorts } from "../../../lib/deploy/preflight.ts";
import { interpolate, parseStack } from "../../../lib/project/stack.ts";
import { expectError, loadProdStack, tmp, write } from "../helpers.ts";

test("short port syntax: host ip, host port and protocol", () => {
  assert.deepEqual(publishedPorts("postgres", ["127.0.0.1:5432:5432"]), [{ service: "postgres", host: "127.0.0.1", port: 5432, protocol: "tcp" }]);
  assert.deepEqual(publishedPorts("nginx", ["80:80", "8080:80/tcp"]), [
    { service: "nginx", host: undefined, port: 80, protocol: "tcp" },
    { service: "nginx", host: undefined, port: 8080, protocol: "tcp" },
  ]);
  assert.deepEqual(publishedPorts("dns", ["53:53/udp"]), [{ service: "dns", host: undefined, port: 53, protocol: "udp" }]);
});

test("an IPv6 host address loses its brackets", () => {
  assert.deepEqual(publishedPorts("api", ["[::1]:8080:80"]), [{ service: "api", host: "::1", port: 8080, protocol: "tcp" }]);
});

test("a container-only port (ephemeral host port) publishes no fixed host port", () => {
  assert.deepEqual(publishedPorts("api", ["8000", "8000/udp", "127.0.0.1::8000"]), []);
});

test("long syntax, as the stack model stores it (JSON of the YAML mapping)", () => {
  const stack = parseStack([
    `services:
  web:
    image: nginx
    ports:
      - target: 80
        published: 8080
        host_ip: 127.0.0.1
        protocol: tcp
      - target: 53
        published: "5353"
        protocol: udp
      - target: 9000
`,
  ]);
  const ports = stack.services[0]!.ports;
  assert.deepEqual(ports, [
    '{"target":80,"published":8080,"host_ip":"127.0.0.1","protocol":"tcp"}',
    '{"target":53,"published":"5353","protocol":"udp"}',
    '{"target":9000}',
  ]);
  assert.deepEqual(publishedPorts("web", ports), [
    { service: "web", host: "127.0.0.1", port: 8080, protocol: "tcp" },
    { service: "web", host: undefined, port: 5353, protocol: "udp" },
  ]);
});

test("the prod stack publishes nginx's ports on every address and everything else on 127.0.0.1 only", () => {
  const ports = (env: Record<string, string>) =>
    loadProdStack().services.flatMap((s) =>
      publishedPorts(
        s.name,
        s.ports.map((p) => interpolate(p, (k) => env[k])),
      ),
    );
  const local = (service: string, port: number) => ({ service, host: "127.0.0.1", port, protocol: "tcp" });
  const expected = (http: number, https: number) => [
    local("postgres", 5432),
    local("redis", 6379),
    local("minio", 9001),
    local("minio", 9002),
    local("milvus-standalone", 19530),
    local("milvus-standalone", 9091),
    { service: "nginx", host: undefined, port: http, protocol: "tcp" },
    { service: "nginx", host: undefined, port: https, protocol: "tcp" },
    local("prometheus", 9090),
    local("grafana", 3000),
    local("loki", 3100),
  ];
  assert.deepEqual(ports({}), expected(80, 443));
  assert.deepEqual(ports({ HTTP_PORT: "8080", HTTPS_PORT: "8443" }), expected(8080, 8443));
});

test("the hooks are hooks/pre-deploy and hooks/post-deploy", () => {
  assert.deepEqual([...HOOKS], ["pre-deploy", "post-deploy"]);
});

test("checkHooks: no hooks directory or no hook files means no hooks", () => {
  assert.deepEqual(checkHooks(tmp("hooks")), []);
  const root = tmp("hooks");
  write(root, "hooks/README", "not a hook\n", 0o755);
  assert.deepEqual(checkHooks(root), []);
});

test("checkHooks lists the executable hooks, in run order", () => {
  const root = tmp("hooks");
  write(root, "hooks/post-deploy", "#!/bin/sh\n", 0o755);
  assert.deepEqual(checkHooks(root), ["post-deploy"]);
  write(root, "hooks/pre-deploy", "#!/bin/sh\n", 0o700);
  assert.deepEqual(checkHooks(root), ["pre-deploy", "post-deploy"]);
});

test("checkHooks refuses a hook that exists but is not executable (exit 3), naming chmod +x", () => {
  const root = tmp("hooks");
  write(root, "hooks/pre-deploy", "#!/bin/sh\n", 0o755);
  write(root, "hooks/post-deploy", "#!/bin/sh\n", 0o644);
  const e = expectError(PreconditionError, ExitCode.precondition, () => checkHooks(root));
  assert.equal(e.message, "hooks/post-deploy exists but is not executable");
  assert.equal(e.hint, "chmod +x hooks/post-deploy (or remove it)");
});
