import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { formatCommand } from "../../../lib/core/exec.ts";
import { REDACTED, redact, redactedJson, Secret } from "../../../lib/core/secret.ts";

test("a Secret prints as [REDACTED] in strings, JSON and inspect", () => {
  const s = new Secret("s3cr3t-value-123");
  assert.equal(`${s}`, REDACTED);
  assert.equal(JSON.stringify({ s }), `{"s":"${REDACTED}"}`);
  assert.equal(inspect(s), REDACTED);
  assert.equal(s.reveal(), "s3cr3t-value-123");
});

test("known secret values are masked anywhere in a text", () => {
  new Secret("abcdef-secret");
  assert.equal(redact("url=redis://:abcdef-secret@redis:6379/0"), `url=redis://:${REDACTED}@redis:6379/0`);
});

test("a secret holding a double quote or a backslash is masked in JSON output and in logged commands", () => {
  const value = `pa"ss\\wo'rd-${Date.now()}`;
  const s = new Secret(value);
  assert.equal(s.reveal(), value);
  const json = redactedJson({ error: `login failed for ${value}`, nested: [value] }, 2);
  assert.ok(!json.includes(value) && !json.includes(JSON.stringify(value).slice(1, -1)), json);
  assert.match(json, /\[REDACTED\]/);
  const printed = formatCommand(["psql", "-c", `ALTER USER x PASSWORD '${value}'`, value]);
  assert.ok(!printed.includes('pa"ss') && !printed.includes("wo'\\''rd"), printed);
  assert.equal((printed.match(/\[REDACTED\]/g) ?? []).length, 2);
});

test("hardening row 11: a secret is masked URL-encoded too, and the row values of a PostgreSQL DETAIL are never logged", () => {
  const s = new Secret("p@ss/w0rd+x y");
  assert.equal(redact(`postgresql://claw:${encodeURIComponent(s.reveal())}@postgres/claw_ai`), "postgresql://claw:[REDACTED]@postgres/claw_ai");
  assert.equal(redact(`password=${s.reveal()}`), "password=[REDACTED]");
  assert.equal(
    redact('ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(alice@example.com) already exists.'),
    'ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=([REDACTED]) already exists.',
  );
  assert.equal(redact("DETAIL:  Key (a, b)=(1, lower(x)) is not present"), "DETAIL:  Key (a, b)=([REDACTED]) is not present");
});
