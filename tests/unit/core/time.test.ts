import assert from "node:assert/strict";
import { test } from "node:test";
import { DAY_MS, HOUR_MS, MINUTE_MS, parseDurationMs, SECOND_MS } from "../../../lib/core/time.ts";

test("the named durations are what they say", () => {
  assert.deepEqual([SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS], [1000, 60_000, 3_600_000, 86_400_000]);
});

test("parseDurationMs reads Compose/Go durations: one unit or several in a row", () => {
  assert.equal(parseDurationMs("30s"), 30_000);
  assert.equal(parseDurationMs("1m30s"), 90_000);
  assert.equal(parseDurationMs("500ms"), 500);
  assert.equal(parseDurationMs("2h"), 7_200_000);
  assert.equal(parseDurationMs("5m"), 300_000);
  assert.equal(parseDurationMs("1h2m3s4ms"), 3_723_004);
  assert.equal(parseDurationMs("0s"), 0);
});

test("parseDurationMs takes fractions and sub-millisecond units", () => {
  assert.equal(parseDurationMs("1.5s"), 1500);
  assert.equal(parseDurationMs("0.5m"), 30_000);
  assert.equal(parseDurationMs("250us"), 0.25);
  assert.equal(parseDurationMs("250µs"), 0.25);
  assert.equal(parseDurationMs("2000000ns"), 2);
});

test("parseDurationMs ignores blanks around the duration", () => {
  assert.equal(parseDurationMs(" 30s\n"), 30_000);
});

test("parseDurationMs: anything that is not a duration is undefined, a bare number included", () => {
  for (const t of ["", "   ", "abc", "10", "1m30", "5 s", "1d", "-1s", "1S", "s", "1.s", "30s!"]) {
    assert.equal(parseDurationMs(t), undefined, JSON.stringify(t));
  }
  assert.equal(parseDurationMs(undefined), undefined);
});
