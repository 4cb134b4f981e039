import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "dotenv";
import { setEnvValue, withEnvValue } from "../../../lib/project/env.ts";
import { tmp, write } from "../helpers.ts";

test("withEnvValue replaces the last assignment in place and keeps every other byte", () => {
  const text = "# release\nCLAW_AI_TAG=1.0\nA=1 # note\n\n# CLAW_AI_TAG=commented\nCLAW_AI_TAG=1.1\nB='x y'";
  assert.equal(
    withEnvValue(text, "CLAW_AI_TAG", "1.2"),
    "# release\nCLAW_AI_TAG=1.0\nA=1 # note\n\n# CLAW_AI_TAG=commented\nCLAW_AI_TAG=1.2\nB='x y'",
  );
  assert.equal(parse(withEnvValue(text, "CLAW_AI_TAG", "1.2")).CLAW_AI_TAG, "1.2");
});

test("withEnvValue keeps a trailing newline, or its absence", () => {
  assert.equal(withEnvValue("CLAW_AI_TAG=1.0\n", "CLAW_AI_TAG", "2"), "CLAW_AI_TAG=2\n");
  assert.equal(withEnvValue("CLAW_AI_TAG=1.0", "CLAW_AI_TAG", "2"), "CLAW_AI_TAG=2");
});

test("withEnvValue recognises `export KEY=`, blanks around = and indentation, and writes a plain KEY=value", () => {
  assert.equal(withEnvValue("A=1\nexport CLAW_AI_TAG=1.0\n", "CLAW_AI_TAG", "1.2"), "A=1\nCLAW_AI_TAG=1.2\n");
  assert.equal(withEnvValue("  CLAW_AI_TAG = 1.0\n", "CLAW_AI_TAG", "1.2"), "CLAW_AI_TAG=1.2\n");
});

test("withEnvValue does not touch a key that only starts with the same name", () => {
  assert.equal(withEnvValue("CLAW_AI_TAG_OLD=1.0\n", "CLAW_AI_TAG", "1.2"), "CLAW_AI_TAG_OLD=1.0\nCLAW_AI_TAG=1.2\n");
  assert.equal(withEnvValue("XCLAW_AI_TAG=1.0\n", "CLAW_AI_TAG", "1.2"), "XCLAW_AI_TAG=1.0\nCLAW_AI_TAG=1.2\n");
});

test("withEnvValue appends the assignment when the key is absent, after a newline of its own", () => {
  assert.equal(withEnvValue("A=1\n", "CLAW_AI_TAG", "1.2"), "A=1\nCLAW_AI_TAG=1.2\n");
  assert.equal(withEnvValue("A=1", "CLAW_AI_TAG", "1.2"), "A=1\nCLAW_AI_TAG=1.2\n");
  assert.equal(withEnvValue("", "CLAW_AI_TAG", "1.2"), "CLAW_AI_TAG=1.2\n");
});

test("withEnvValue takes the plain tokens a tag or a URL is made of, and the empty value", () => {
  assert.equal(
    withEnvValue("", "WEBHOOK_URL", "https://hooks.example.com/a-b_c.d:8443/x@y"),
    "WEBHOOK_URL=https://hooks.example.com/a-b_c.d:8443/x@y\n",
  );
  assert.equal(withEnvValue("K=1\n", "K", ""), "K=\n");
});

test("withEnvValue refuses a value that would need quoting, and a key that is not a name", () => {
  for (const value of ["a b", "a#b", "$HOME", "a'b", 'a"b', "a\nB=2", "a\\b", "`x`", "a;b"]) {
    assert.throws(() => withEnvValue("K=1\n", "K", value), /not a plain env assignment: K/, JSON.stringify(value));
  }
  for (const key of ["1A", "A-B", "A B", "", "A=B", ".*"]) {
    assert.throws(() => withEnvValue("K=1\n", key, "v"), /not a plain env assignment/, JSON.stringify(key));
  }
});

test("setEnvValue rewrites the file in place, keeps mode 0600 and leaves no temporary file", () => {
  const dir = tmp("env-value");
  write(dir, ".env.prod", "# prod\nCLAW_AI_IMAGE=ghcr.io/claw/backend\nCLAW_AI_TAG=1.0\n", 0o600);
  const file = join(dir, ".env.prod");
  setEnvValue(file, "CLAW_AI_TAG", "1.1");
  assert.equal(readFileSync(file, "utf8"), "# prod\nCLAW_AI_IMAGE=ghcr.io/claw/backend\nCLAW_AI_TAG=1.1\n");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), [".env.prod"]);
});

test("setEnvValue of a value that needs quoting changes nothing", () => {
  const dir = tmp("env-value");
  write(dir, ".env.prod", "CLAW_AI_TAG=1.0\n", 0o600);
  const file = join(dir, ".env.prod");
  assert.throws(() => setEnvValue(file, "CLAW_AI_TAG", "1.0 rc"), /not a plain env assignment/);
  assert.equal(readFileSync(file, "utf8"), "CLAW_AI_TAG=1.0\n");
  assert.deepEqual(readdirSync(dir), [".env.prod"]);
});
