import assert from "node:assert/strict";
import { test } from "node:test";
import { movedBytes, releasing } from "../../../lib/core/memory.ts";

test("data-moving streams pass bytes unchanged and ask for a collection every 16 MB when gc is exposed", async () => {
  const g = globalThis as { gc?: () => void };
  const saved = g.gc;
  let calls = 0;
  g.gc = () => {
    calls++;
  };
  try {
    const chunks: Buffer[] = [];
    const t = releasing();
    t.on("data", (c: Buffer) => chunks.push(c));
    const mb = Buffer.alloc(1 << 20, 7);
    for (let i = 0; i < 70; i++) t.write(mb);
    t.end();
    await new Promise((r) => t.on("end", r));
    assert.equal(Buffer.concat(chunks).length, 70 << 20);
    assert.ok(calls >= 4 && calls <= 5, `gc asked ${calls} times for 70 MB`);
    movedBytes(1);
  } finally {
    g.gc = saved;
  }
});
