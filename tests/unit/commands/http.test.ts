import assert from "node:assert/strict";
import { test } from "node:test";
import { curlHealth } from "../../../lib/commands/http.ts";

test("the health probe fails on HTTP errors, accepts nginx's self-signed certificate and retries any error 10 times 2 s apart", () => {
  assert.deepEqual(curlHealth("https://localhost/health"), [
    "curl",
    "-fsSk",
    "--retry",
    "10",
    "--retry-delay",
    "2",
    "--retry-all-errors",
    "https://localhost/health",
  ]);
});
