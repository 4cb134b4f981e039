import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "dotenv";
import { ExitCode, PreconditionError } from "../../../lib/core/errors.ts";
import { composeDisagreements, loadEnv, validateEnv } from "../../../lib/project/env.ts";
import { SETTINGS } from "../../../lib/project/settings.ts";
import { testEnv } from "../../stack/harness.ts";
import { expectError } from "../helpers.ts";

const TEMPLATE = join(import.meta.dirname, "../../../templates/.env.prod.example");

function envFile(values: Record<string, string>, mode = 0o600): string {
  const f = join(mkdtempSync(join(tmpdir(), "claw-env-")), ".env.prod");
  writeFileSync(
    f,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  chmodSync(f, mode);
  return f;
}

const refusal = (fn: () => unknown): PreconditionError => expectError(PreconditionError, ExitCode.precondition, fn);

test("a complete env with real values passes", () => {
  assert.deepEqual(validateEnv(testEnv()), []);
  assert.equal(loadEnv(envFile(testEnv())).get("POSTGRES_DB"), "claw_ai");
});

test("the template as shipped is refused: every secret is a placeholder", () => {
  const problems = validateEnv(parse(readFileSync(TEMPLATE)));
  const keys = problems.map((p) => p.key);
  for (const k of [
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "SECRET_KEY",
    "ZHIPUAI_API_KEY",
    "PINECONE_API_KEY",
    "MINIO_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "FLOWER_PASSWORD",
  ]) {
    assert.ok(keys.includes(k), `${k} should be refused`);
  }
});

test("a placeholder password is refused, naming the key and never the value", () => {
  const e = refusal(() => loadEnv(envFile({ ...testEnv(), POSTGRES_PASSWORD: "change_this_postgres_password" })));
  assert.match(e.message, /POSTGRES_PASSWORD still holds the template's placeholder/);
  assert.doesNotMatch(e.message, /change_this_postgres_password/);
});

test("a missing SECRET_KEY is refused, naming the key", () => {
  const env = testEnv();
  delete (env as Record<string, string | undefined>).SECRET_KEY;
  assert.match(refusal(() => loadEnv(envFile(env))).message, /SECRET_KEY is missing/);
});

test("a SECRET_KEY shorter than 32 characters is refused without echoing it", () => {
  const e = refusal(() => loadEnv(envFile({ ...testEnv(), SECRET_KEY: "short-but-not-a-placeholder" })));
  assert.match(e.message, /SECRET_KEY is shorter than 32/);
  assert.doesNotMatch(e.message, /short-but/);
});

test("MinIO's and Grafana's default credentials are refused", () => {
  const p = validateEnv({ ...testEnv(), MINIO_ROOT_USER: "minioadmin", MINIO_ROOT_PASSWORD: "minioadmin", GRAFANA_ADMIN_PASSWORD: "admin" });
  assert.deepEqual(p.map((x) => x.key).sort(), ["GRAFANA_ADMIN_PASSWORD", "MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER"]);
});

test("a group- or world-readable .env.prod is refused", () => {
  const e = refusal(() => loadEnv(envFile(testEnv(), 0o640)));
  assert.match(e.message, /readable by group or others \(mode 640\)/);
  assert.equal(e.hint, `chmod 600 ${e.message.split(" ")[0]}`);
});

test("a missing .env.prod is refused with the command to create it", () => {
  const e = refusal(() => loadEnv("/nonexistent/.env.prod"));
  assert.match(e.message, /not found/);
  assert.match(e.hint ?? "", /templates\/.env.prod.example/);
});

test("every schema key is documented in the template", () => {
  const keys = Object.keys(parse(readFileSync(TEMPLATE)));
  for (const spec of SETTINGS) assert.ok(keys.includes(spec.name), `${spec.name} missing from the template`);
});

test("POSTGRES_DB and POSTGRES_USER longer than PostgreSQL's 63-byte identifiers are refused, naming the key", () => {
  const ok = validateEnv({ ...testEnv(), POSTGRES_DB: "a".repeat(63) });
  assert.ok(!ok.some((p) => p.key === "POSTGRES_DB"));
  const bad = validateEnv({ ...testEnv(), POSTGRES_DB: "a".repeat(64), POSTGRES_USER: "u".repeat(64) });
  assert.deepEqual(bad.map((p) => p.key).sort(), ["POSTGRES_DB", "POSTGRES_USER"]);
});

test("values Compose would read differently are refused by key: an unquoted # without a blank before it, a $ outside single quotes", () => {
  assert.deepEqual(
    composeDisagreements(["A=abc#def", "B=abc #comment", 'C="ab#c"', "D=x$y", "E='q$w#e'", 'F="a${b}"', "# G=$y", "H=plain"].join("\n")).map(
      (p) => p.key,
    ),
    ["A", "D", "F"],
  );
  const e = refusal(() => loadEnv(envFile({ ...testEnv(), POSTGRES_PASSWORD: "abcdefgh#ijklmnop" })));
  assert.match(e.message, /POSTGRES_PASSWORD holds a `#`/);
  assert.doesNotMatch(e.message, /abcdefgh/);
});

test("a backslash inside double quotes is refused: Compose decodes it, dotenv does not", () => {
  assert.deepEqual(
    composeDisagreements(['A="ab\\"cd"', 'B="x\\\\y"', "C='x\\\\y'"].join("\n")).map((p) => p.key),
    ["A", "B"],
  );
});
