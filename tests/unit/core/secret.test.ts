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
