import assert from "node:assert/strict";
import { test } from "node:test";
import { settleAll } from "../../../lib/core/async.ts";

test("settleAll waits for every task before failing with the first error", async () => {
  const order: string[] = [];
  const slow = new Promise<number>((res) =>
    setTimeout(() => {
      order.push("slow done");
      res(2);
    }, 50),
  );
  const failing = Promise.reject(new Error("first failure"));
  await assert.rejects(settleAll([failing, slow]), /first failure/);
  assert.deepEqual(order, ["slow done"], "the slow task had finished when the error surfaced");
  assert.deepEqual(await settleAll([Promise.resolve(1), slow]), [1, 2]);
});
