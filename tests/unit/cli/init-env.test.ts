/** init-env.mts: a first .env.prod that every script accepts, never overwriting one. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "dotenv";
import { validateEnv } from "../../../lib/project/env.ts";
import { GENERATED_KEYS, planEnvFile } from "../../../lib/project/env-file.ts";

const ROOT = join(import.meta.dirname, "../../..");
const TEMPLATE = readFileSync(join(ROOT, "templates/.env.prod.example"), "utf8");

function initEnv(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("npx", ["zx", "scripts/init-env.mts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, CLAW_OPS_LANG: "en", CLAW_OPS_PROJECT_DIR: dir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("the planned file generates every password (32 random bytes, hex) and passes the checks every script runs", () => {
  let n = 0;
  const plan = planEnvFile(
    TEMPLATE,
    { DOMAIN: "claw-ai.com", CLAW_AI_IMAGE: "registry.example.com/claw-ai/backend", ZHIPUAI_API_KEY: "zk.1", PINECONE_API_KEY: "pc-1" },
    () => `${String(++n).padStart(2, "0")}${"ab".repeat(31)}`,
  );
  assert.deepEqual(plan.problems, []);
  const values = parse(plan.text);
  assert.deepEqual(validateEnv(values), []);
  assert.deepEqual(plan.generated, [...GENERATED_KEYS]);
  for (const k of ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY", "MINIO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "FLOWER_PASSWORD"])
    assert.match(values[k]!, /^[0-9a-f]{64}$/, k);
  assert.equal(new Set(GENERATED_KEYS.map((k) => values[k])).size, GENERATED_KEYS.length, "each secret is its own");
  assert.equal(values.DOMAIN, "claw-ai.com");
  assert.match(plan.text, /^# CLAW\.AI production environment/, "the template's comments stay");
});

test("a given value outside the plain characters is single-quoted so dotenv and Compose read it literally", () => {
  const plan = planEnvFile(TEMPLATE, { DOMAIN: "a.b", CLAW_AI_IMAGE: "r/i", ZHIPUAI_API_KEY: "k+y=$HOME", PINECONE_API_KEY: "p" }, () =>
    "f".repeat(64),
  );
  assert.equal(parse(plan.text).ZHIPUAI_API_KEY, "k+y=$HOME");
  assert.match(plan.text, /^ZHIPUAI_API_KEY='k\+y=\$HOME'$/m);
});

test("without a TTY, missing values are a usage error naming every one, and nothing is written", () => {
  const dir = mkdtempSync(join(tmpdir(), "claw-init-"));
  const r = initEnv(dir, ["--domain", "claw-ai.com"]);
  assert.equal(r.status, 2, r.out);
  assert.match(r.out, /CLAW_AI_IMAGE, ZHIPUAI_API_KEY, PINECONE_API_KEY: needed/);
  assert.throws(() => statSync(join(dir, ".env.prod")));
});

test("init-env writes .env.prod 0600 with API keys from the environment (never argv), and never overwrites it", () => {
  const dir = mkdtempSync(join(tmpdir(), "claw-init-"));
  const args = ["--domain", "claw-ai.com", "--image", "registry.example.com/claw-ai/backend", "--email", "ops@claw-ai.com"];
  const keys = { ZHIPUAI_API_KEY: "zk.secret-zhipu", PINECONE_API_KEY: "pc-secret-pinecone" };
  const r = initEnv(dir, args, keys);
  assert.equal(r.status, 0, r.out);
  const file = join(dir, ".env.prod");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, "utf8");
  assert.deepEqual(validateEnv(parse(text)), []);
  assert.equal(parse(text).DEPLOY_EMAIL, "ops@claw-ai.com");
  assert.doesNotMatch(r.out, /secret-zhipu|secret-pinecone/);
  for (const v of Object.values(parse(text))) if (/^[0-9a-f]{64}$/.test(v)) assert.ok(!r.out.includes(v), "no generated secret is printed");
  writeFileSync(file, "edited by hand\n", { mode: 0o600 });
  const again = initEnv(dir, args, keys);
  assert.equal(again.status, 3, again.out);
  assert.match(again.out, /exists already: init-env never overwrites it/);
  assert.equal(readFileSync(file, "utf8"), "edited by hand\n");
});
