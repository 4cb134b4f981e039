import assert from "node:assert/strict";
import { test } from "node:test";
import { once } from "../../stack/fixtures.ts";

test("once() runs its fixture lazily, on the first call only, and every caller shares the result", async () => {
  let runs = 0;
  const f = once(async () => ++runs);
  assert.equal(runs, 0, "nothing runs before the first call");
  const [a, b] = await Promise.all([f(), f()]);
  assert.deepEqual([a, b, await f(), runs], [1, 1, 1, 1]);
});

test("once() memoizes a failure: every caller gets the fixture's error, and it is not retried", async () => {
  let runs = 0;
  const f = once(async () => {
    runs++;
    throw new Error("fixture failed");
  });
  await assert.rejects(f(), /fixture failed/);
  await assert.rejects(f(), /fixture failed/);
  assert.equal(runs, 1);
});
