import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { REDACTED, redact, Secret } from "../../../lib/core/secret.ts";

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
