import assert from "node:assert/strict";
import { test } from "node:test";
import { selectComponents } from "../../../lib/backup/registry.ts";
import { usageError } from "../helpers.ts";

test("a backup takes every component by default, uploads left out with --no-upload, postgres only with --db-only", () => {
  assert.deepEqual(selectComponents({}), ["postgres", "redis", "milvus", "uploads", "config"]);
  assert.deepEqual(selectComponents({ noUpload: true }), ["postgres", "redis", "milvus", "config"]);
  assert.deepEqual(selectComponents({ dbOnly: true }), ["postgres"]);
  assert.deepEqual(selectComponents({ dbOnly: true, noUpload: true }), ["postgres"]);
});

test("--only takes a comma list with spaces in any order, deduplicated, in component order", () => {
  assert.deepEqual(selectComponents({ only: " config , postgres" }), ["postgres", "config"]);
  assert.deepEqual(selectComponents({ only: "uploads,redis,redis," }), ["redis", "uploads"]);
  assert.deepEqual(selectComponents({ only: "milvus", dbOnly: true, noUpload: true }), ["milvus"]);
});

test("--only with an unknown or no component is a usage error (exit 2) naming the choices", () => {
  const e = usageError(() => selectComponents({ only: "postgres,mysql" }));
  assert.equal(e.message, '--only takes postgres,redis,milvus,uploads,config; got "postgres,mysql"');
  assert.equal(usageError(() => selectComponents({ only: "" })).message, '--only takes postgres,redis,milvus,uploads,config; got ""');
  assert.equal(usageError(() => selectComponents({ only: " , " })).message, '--only takes postgres,redis,milvus,uploads,config; got " , "');
  usageError(() => selectComponents({ only: "Postgres" }));
});
