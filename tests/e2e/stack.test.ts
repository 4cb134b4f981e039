/**
 * Smoke test of the whole CLAW.AI stack on the real Docker engine: production compose file
 * + the images-only test override, every service healthy, real traffic through nginx.
 */
import assert from "node:assert/strict";
import { get } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadStack } from "../../lib/project/stack.ts";
import { createStack, REPO_ROOT, type TestStack } from "../stack/harness.ts";
import { ensureImages } from "../stack/images.ts";

function httpGet(url: string): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    }).on("error", reject);
  });
}

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

describe("the full stack on the real Docker engine", { timeout: 900_000 }, () => {
  let stack: TestStack;

  before(async () => {
    await ensureImages((m) => process.stderr.write(`[images] ${m}\n`));
    stack = await createStack();
    await stack.up();
  });

  after(async () => {
    await stack?.down();
  });

  test("every service of the compose file runs, and is healthy where it has a healthcheck", async () => {
    const model = loadStack([join(REPO_ROOT, "docker-compose.prod.yml")]);
    // Docker's own verdict: the stack came up on our probes, Docker runs its first check one interval later.
    const states = await stack.compose.waitHealthy(undefined, 120_000);
    assert.equal(states.length, model.services.length);
    for (const s of model.services) {
      const st = states.find((x) => x.service === s.name);
      assert.ok(st, `${s.name} has no container`);
      assert.equal(st.state, "running", `${s.name} is ${st.state}`);
      // The guide's names for the singletons; Compose's <project>-<service>-<n> for the backend and workers.
      assert.equal(st.name, s.containerName ?? `${stack.name}-${s.name}-1`);
      assert.equal(st.health, s.healthcheck ? "healthy" : "none", `${s.name} health`);
    }
  });

  test("https://localhost/health through nginx reaches the backend and reports Postgres and Redis OK", async () => {
    const r = await stack.https("/health");
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as Record<string, string>;
    assert.equal(body.postgres, "ok");
    assert.equal(body.redis, "ok");
    assert.equal(body.version, stack.env.CLAW_AI_TAG);
    assert.match(String(r.headers["strict-transport-security"]), /max-age=/);
  });

  test("plain HTTP is redirected to HTTPS", async () => {
    const r = await httpGet(`http://127.0.0.1:${stack.httpPort}/health`);
    assert.equal(r.status, 301);
    assert.equal(r.location, "https://127.0.0.1/health");
  });

  test("/flower/ needs the basic-auth password; /grafana/ is proxied", async () => {
    assert.equal((await stack.https("/flower/")).status, 401);
    assert.equal((await stack.https("/flower/", { auth: `${stack.env.FLOWER_USER}:wrong-password` })).status, 401);
    assert.equal((await stack.https("/flower/", { auth: `${stack.env.FLOWER_USER}:${stack.env.FLOWER_PASSWORD}` })).status, 200);
    assert.equal((await stack.https("/grafana/api/health")).status, 200);
  });

  test("the backend writes real data to Postgres, Redis and Milvus (etcd + MinIO)", async () => {
    await stack.compose.exec("claw-ai-backend", ["alembic", "upgrade", "head"]);
    const u = await stack.https("/api/test/users", { method: "POST", body: JSON.stringify({ email: "李雷@example.com", name: "李雷" }) });
    assert.equal(u.status, 200, u.body);
    assert.equal((await stack.https("/api/test/cache", { method: "POST", body: JSON.stringify({ key: "k1", value: "v1" }) })).status, 200);
    const v = await stack.https("/api/test/vectors/docs", {
      method: "POST",
      body: JSON.stringify({
        vectors: [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
      }),
    });
    assert.equal(v.status, 200, v.body);
    const counts = JSON.parse((await stack.https("/api/test/counts")).body) as Record<string, number>;
    assert.equal(counts.users, 1);
    const q = JSON.parse((await stack.https("/api/test/vectors/docs")).body) as { data: unknown[] };
    assert.equal(q.data.length, 2);
    const keys = await stack.compose.exec("etcd", ["etcdctl", "get", "--prefix", "--keys-only", "by-dev/meta/"]);
    assert.match(keys.stdout, /by-dev\/meta\/root-coord\/collection\/docs/);
  });

  test("Prometheus scrapes the backend and reports its target up", async () => {
    const job = await eventually(
      async () => {
        const r = await httpGet("http://127.0.0.1:9090/api/v1/targets");
        const targets = (JSON.parse(r.body) as { data: { activeTargets: Array<{ labels: { job: string }; health: string }> } }).data.activeTargets;
        const t = targets.find((x) => x.labels.job === "claw-ai-backend");
        return t?.health === "up" ? t : undefined;
      },
      90_000,
      "the claw-ai-backend target to be up",
    );
    assert.equal(job.health, "up");
  });

  test("data services are published on 127.0.0.1 only", async () => {
    const ids = (await stack.compose.ps()).filter((s) => s.service !== "nginx").map((s) => s.id);
    const { run } = await import("../../lib/core/exec.ts");
    const inspect = JSON.parse((await run({ argv: ["docker", "inspect", ...ids] })).stdout) as Array<{
      Name: string;
      HostConfig: { PortBindings: Record<string, Array<{ HostIp: string }> | null> | null };
    }>;
    for (const c of inspect) {
      for (const bindings of Object.values(c.HostConfig.PortBindings ?? {})) {
        for (const b of bindings ?? []) assert.equal(b.HostIp, "127.0.0.1", `${c.Name} publishes on ${b.HostIp || "all interfaces"}`);
      }
    }
  });
});
