/** Shared by the unit tests: run fn, expect a ClawError of a class and exit code, return it. */
import assert from "node:assert/strict";
import type { ClawError } from "../../lib/core/errors.ts";

export function expectError<E extends ClawError>(cls: abstract new (...args: never[]) => E, exitCode: number, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof cls, String(e));
    assert.equal(e.exitCode, exitCode);
    return e;
  }
  assert.fail(`expected a ${cls.name}`);
}
