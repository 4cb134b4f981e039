import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "dotenv";
import { parse as yamlParse } from "yaml";
import { SETTINGS } from "../../../lib/project/settings.ts";
import { composeVariables, interpolate, loadStack, type Role, serviceByRole } from "../../../lib/project/stack.ts";

const ROOT = join(import.meta.dirname, "../../..");
const PROD = join(ROOT, "docker-compose.prod.yml");
const stack = loadStack([PROD]);
const GUIDE_SERVICES = [
  "claw-ai-backend",
  "postgres",
  "redis",
  "etcd",
  "minio",
  "milvus-standalone",
  "celery-worker",
  "celery-beat",
  "flower",
  "nginx",
  "prometheus",
  "grafana",
  "loki",
  "promtail",
  "postgres-exporter",
  "redis-exporter",
];

test("the compose file has every service of the guide, each with a unique role label", () => {
  const names = stack.services.map((s) => s.name);
  for (const n of GUIDE_SERVICES) assert.ok(names.includes(n), `${n} missing`);
  const roles = stack.services.map((s) => s.role);
  assert.ok(roles.every(Boolean), "every service has an ai.claw.role label");
  assert.equal(new Set(roles).size, roles.length);
});

test("the guide's container names are kept for the singletons; the backend and workers have none (a deploy runs two side by side)", () => {
  assert.equal(serviceByRole(stack, "postgres").containerName, "claw_ai_postgres");
  assert.equal(serviceByRole(stack, "redis").containerName, "claw_ai_redis");
  assert.equal(serviceByRole(stack, "celery-beat").containerName, "claw_ai_celery_beat");
  assert.equal(serviceByRole(stack, "backend").containerName, undefined);
  assert.equal(serviceByRole(stack, "celery-worker").containerName, undefined);
});

test("every long-running service has a healthcheck, except the shell-less redis exporter", () => {
  const without = stack.services.filter((s) => !s.healthcheck).map((s) => s.name);
  assert.deepEqual(without, ["redis-exporter"]);
});

test("databases and admin services are published on 127.0.0.1 only; only nginx faces the network", () => {
  for (const s of stack.services) {
    for (const p of s.ports) {
      if (s.role === "nginx") continue;
      assert.match(p, /^127\.0\.0\.1:/, `${s.name} publishes ${p}`);
    }
  }
  const nginx = serviceByRole(stack, "nginx");
  assert.deepEqual(nginx.ports, ["${HTTP_PORT:-80}:80", "${HTTPS_PORT:-443}:443"]);
});

test("data services sit on the internal backend network", () => {
  const raw = readFileSync(PROD, "utf8");
  assert.match(raw, /backend:\n\s+internal: true/);
  for (const role of ["postgres", "redis", "etcd", "minio", "milvus"] as Role[]) {
    const s = serviceByRole(stack, role);
    assert.ok(s.networks.includes("backend"));
    assert.ok(!s.networks.includes("frontend"), `${s.name} must not be on frontend`);
  }
});

test("backend and workers run the release image ${CLAW_AI_IMAGE}:${CLAW_AI_TAG}", () => {
  for (const role of ["backend", "celery-worker", "celery-beat", "flower"] as Role[]) {
    assert.equal(serviceByRole(stack, role).image, "${CLAW_AI_IMAGE}:${CLAW_AI_TAG}");
  }
});

test("stateful services keep their data in named volumes", () => {
  const expect: Array<[Role, string]> = [
    ["postgres", "/var/lib/postgresql/data"],
    ["redis", "/data"],
    ["etcd", "/etcd"],
    ["minio", "/minio_data"],
    ["milvus", "/var/lib/milvus"],
    ["prometheus", "/prometheus"],
    ["grafana", "/var/lib/grafana"],
    ["loki", "/loki"],
  ];
  for (const [role, target] of expect) {
    const v = serviceByRole(stack, role).volumes.find((m) => m.target === target);
    assert.equal(v?.type, "volume", `${role} ${target}`);
    assert.ok(stack.volumes.includes(v!.source));
  }
  assert.deepEqual(
    serviceByRole(stack, "backend").volumes.map((v) => [v.type, v.source, v.target]),
    [["bind", "./uploads", "/app/uploads"]],
  );
});

test("every service has rotated logs and resource limits", () => {
  const doc = readFileSync(PROD, "utf8");
  const count = (re: RegExp) => (doc.match(re) ?? []).length;
  assert.equal(count(/logging: \*logging/g), stack.services.length);
  assert.equal(count(/limits: \{ cpus: "[\d.]+", memory: \d+[MG] \}/g), stack.services.length);
});

test("no default credentials: every credential comes from a variable", () => {
  const doc = readFileSync(PROD, "utf8");
  assert.doesNotMatch(doc, /minioadmin/);
  assert.doesNotMatch(doc, /PASSWORD: (?!\$\{)/);
});

test("the template lists exactly the variables the compose file and the scripts use", () => {
  const template = new Set(Object.keys(parse(readFileSync(join(ROOT, "templates/.env.prod.example")))));
  const used = new Set([...composeVariables(readFileSync(PROD, "utf8")), ...SETTINGS.map((k) => k.name)]);
  assert.deepEqual([...template].sort(), [...used].sort());
});

test("the test override changes only images, entrypoints and the stand-in's test knobs", () => {
  const raw = parseStackRaw(join(ROOT, "tests/stack/docker-compose.test.yml"));
  for (const [name, body] of Object.entries(raw)) {
    assert.ok(
      stack.services.some((s) => s.name === name),
      `override names unknown service ${name}`,
    );
    for (const key of Object.keys(body)) assert.ok(["image", "entrypoint", "environment"].includes(key), `${name}.${key} overridden`);
    // Only knobs the backend stand-in reads for the tests (beat ticks), never a production setting.
    for (const k of Object.keys((body.environment as Record<string, string> | undefined) ?? {})) assert.deepEqual(k, "BEAT_TICK_SECONDS");
  }
  assert.ok(Object.keys(raw).length > 0);
});

test("compose variables and interpolation follow Compose's rules", () => {
  assert.deepEqual([...composeVariables("a ${A} ${B:-x} $C $$D ${E?err}")].sort(), ["A", "B", "C", "E"]);
  const env = (k: string) => (({ A: "1", C: "" }) as Record<string, string>)[k];
  assert.equal(interpolate("${A}:${B:-dflt}:${C:-empty}:$$x", env), "1:dflt:empty:$x");
});

function parseStackRaw(file: string): Record<string, Record<string, unknown>> {
  return (yamlParse(readFileSync(file, "utf8")) as { services: Record<string, Record<string, unknown>> }).services;
}
