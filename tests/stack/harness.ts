/**
 * A real CLAW.AI stack for the tests: a throw-away project directory holding copies of the
 * production compose file and configs, a generated .env.prod (random secrets, 0600), a
 * self-signed certificate and an htpasswd file, brought up under a unique compose project
 * name with the test override (local images), and always torn down with its volumes.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opensslSelfSigned } from "../../lib/commands/tls.ts";
import { run } from "../../lib/core/exec.ts";
import { ensureFlowerAuth } from "../../lib/deploy/flower-auth.ts";
import type { ComposeClient } from "../../lib/infra/compose-client.ts";
import { openProject } from "../../lib/project/project.ts";
import { imageRef } from "./images.ts";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
export const TEST_PREFIX = "clawtest-";
const TEST_OVERRIDE = "tests/stack/docker-compose.test.yml";
const COPIED = ["docker-compose.prod.yml", "nginx/nginx.conf", "nginx/live", "prometheus", "grafana", "loki", TEST_OVERRIDE];

export interface StackOptions {
  /** Backend release (tag of claw-test/app). */
  tag?: string;
  httpPort?: number;
  httpsPort?: number;
  /** Values that replace the generated ones in .env.prod (e.g. a 63-character POSTGRES_DB). */
  env?: Record<string, string>;
}

export interface TestStack {
  name: string;
  dir: string;
  env: Record<string, string>;
  /** Environment that makes the real scripts work on this stack. */
  scriptEnv: NodeJS.ProcessEnv;
  compose: ComposeClient;
  caCert: string;
  httpsPort: number;
  httpPort: number;
  up(): Promise<void>;
  down(): Promise<void>;
  https(
    path: string,
    o?: { auth?: string; method?: string; body?: string },
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
}

const secret = () => randomBytes(16).toString("hex");

export function testEnv(o: StackOptions = {}): Record<string, string> {
  return {
    CLAW_AI_IMAGE: "claw-test/app",
    CLAW_AI_TAG: o.tag ?? "local",
    DOMAIN: "localhost",
    POSTGRES_USER: "claw_ai",
    POSTGRES_PASSWORD: secret(),
    POSTGRES_DB: "claw_ai",
    REDIS_PASSWORD: secret(),
    SECRET_KEY: randomBytes(32).toString("hex"),
    ZHIPUAI_API_KEY: `test-${secret()}`,
    PINECONE_API_KEY: `test-${secret()}`,
    MINIO_ROOT_USER: "claw_minio",
    MINIO_ROOT_PASSWORD: secret(),
    GRAFANA_ADMIN_USER: "claw_admin",
    GRAFANA_ADMIN_PASSWORD: secret(),
    FLOWER_USER: "flower",
    FLOWER_PASSWORD: secret(),
    HTTP_PORT: String(o.httpPort ?? 80),
    HTTPS_PORT: String(o.httpsPort ?? 443),
    ...o.env,
  };
}

export function writeEnvFile(file: string, env: Record<string, string>): void {
  writeFileSync(
    file,
    `${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
}

/** Remove containers, networks and volumes left by earlier test runs (only `clawtest-` projects). */
export async function removeStaleTestStacks(): Promise<void> {
  const list = async (kind: "ps" | "network ls" | "volume ls", extra: string[] = []) => {
    const out = await run({
      argv: [
        "docker",
        ...kind.split(" "),
        ...extra,
        "--filter",
        "label=com.docker.compose.project",
        "--format",
        `{{${kind === "volume ls" ? ".Name" : ".ID"}}} {{.Label "com.docker.compose.project"}}`,
      ],
    });
    return out.stdout
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter(([id, p]) => id && p?.startsWith(TEST_PREFIX))
      .map(([id]) => id!);
  };
  const containers = await list("ps", ["-a"]);
  if (containers.length) await run({ argv: ["docker", "rm", "-f", "-v", ...containers] });
  const networks = await list("network ls");
  if (networks.length) await run({ argv: ["docker", "network", "rm", ...networks] }, { allowFailure: true });
  const volumes = await list("volume ls");
  if (volumes.length) await run({ argv: ["docker", "volume", "rm", "-f", ...volumes] }, { allowFailure: true });
}

/** A self-signed certificate for localhost: <dir>/fullchain.pem and <dir>/privkey.pem. */
export async function selfSignedCert(dir: string): Promise<void> {
  // deploy.mts's own builder (the certificate it would make for DOMAIN=localhost), for a year:
  // deploy warns under 30 days left, and a healthy demo prints no warning.
  await run({
    argv: opensslSelfSigned({ domain: "localhost", isIp: false, keyOut: join(dir, "privkey.pem"), certOut: join(dir, "fullchain.pem"), days: 365 }),
  });
}

export async function createStack(o: StackOptions = {}): Promise<TestStack> {
  const name = `${TEST_PREFIX}${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  for (const p of COPIED) cpSync(join(REPO_ROOT, p), join(dir, p), { recursive: true });
  for (const d of ["uploads", "metrics", "logs", "nginx/ssl", "nginx/certbot", "backups"]) mkdirSync(join(dir, d), { recursive: true });
  const env = testEnv(o);
  writeEnvFile(join(dir, ".env.prod"), env);
  await selfSignedCert(join(dir, "nginx/ssl"));
  const composeFile = `docker-compose.prod.yml:${TEST_OVERRIDE}`;
  const scriptEnv = { ...process.env, CLAW_OPS_PROJECT_DIR: dir, COMPOSE_FILE: composeFile, COMPOSE_PROJECT_NAME: name };
  // The scripts' own client (healthchecks known, containers addressed by id): `up` of named services
  // and readiness are probed every 0.5 s instead of waiting a Docker health interval.
  const compose = (await openProject({ environ: scriptEnv })).compose;
  const caCert = readFileSync(join(dir, "nginx/ssl/fullchain.pem"), "utf8");
  const httpsPort = Number(env.HTTPS_PORT);
  return {
    name,
    dir,
    env,
    compose,
    caCert,
    httpsPort,
    httpPort: Number(env.HTTP_PORT),
    scriptEnv,
    async up() {
      await removeStaleTestStacks();
      // What deploy.mts writes before nginx starts (a stack brought up without it needs it too).
      await ensureFlowerAuth(dir, { user: env.FLOWER_USER!, password: env.FLOWER_PASSWORD! }, imageRef("nginx"));
      try {
        // As a deploy brings a stack up: `up -d`, then each service's own healthcheck probed every
        // 0.5 s (`up --wait` waits for Docker's first check, one whole interval: 30 s for the exporters).
        await compose.upReady({ recreate: true }, 360_000);
      } catch (e) {
        const states = await compose.ps({ all: true }).catch(() => []);
        const bad = states.filter((s) => s.state !== "running" || s.health === "unhealthy" || s.health === "starting");
        for (const s of bad) process.stderr.write(`--- ${s.service} (${s.state}/${s.health})\n${await compose.logs([s.service], 30)}\n`);
        throw e;
      }
    },
    async down() {
      await compose.down({ volumes: true, removeOrphans: true, timeoutSec: 5 }).catch(() => undefined);
      // Bind-mounted dirs may hold files written by container users (root): rm as root works here.
      rmSync(dir, { recursive: true, force: true });
    },
    https(path, ro = {}) {
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: httpsPort,
            path,
            method: ro.method ?? "GET",
            ca: caCert,
            servername: "localhost",
            headers: {
              host: "localhost",
              ...(ro.auth ? { authorization: `Basic ${Buffer.from(ro.auth).toString("base64")}` } : {}),
              ...(ro.body ? { "content-type": "application/json" } : {}),
            },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
          },
        );
        req.on("error", reject);
        req.setTimeout(15_000, () => req.destroy(new Error(`timeout on ${path}`)));
        req.end(ro.body);
      });
    },
  };
}
