import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCommand } from "../../../lib/core/exec.ts";
import { REDACTED, Secret } from "../../../lib/core/secret.ts";

test("printed commands are shell-quoted and redacted", () => {
  new Secret("pw-9876543210");
  assert.equal(formatCommand(["psql", "-c", "select 'x'", "pw-9876543210", ""]), `psql -c 'select '\\''x'\\''' ${REDACTED} ''`);
});
