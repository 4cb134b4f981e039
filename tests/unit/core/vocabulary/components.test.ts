import assert from "node:assert/strict";
import { test } from "node:test";
import { COMPONENTS, isComponentName } from "../../../../lib/core/vocabulary/components.ts";

test("a backup has five components, listed in the order they are backed up and restored", () => {
  assert.deepEqual(COMPONENTS, ["postgres", "redis", "milvus", "uploads", "config"]);
});

test("isComponentName accepts exactly the component names", () => {
  for (const c of COMPONENTS) assert.ok(isComponentName(c), c);
  for (const n of ["", "db", "Postgres", "etcd", "minio", " redis"]) assert.equal(isComponentName(n), false, JSON.stringify(n));
});
