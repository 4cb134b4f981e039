import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript, scriptArgv } from "../../../lib/cli/run.ts";
import { deploySpec } from "../../../lib/cli/specs.ts";
import { ExitCode, FailedWithResult, PreconditionError } from "../../../lib/core/errors.ts";

test("script arguments are found both under zx and under plain node", () => {
  assert.deepEqual(scriptArgv("backup.mts", ["/usr/bin/node", "/x/node_modules/zx/build/cli.js", "scripts/backup.mts", "--list"]), ["--list"]);
  assert.deepEqual(scriptArgv("backup.mts", ["/usr/bin/node", "/srv/claw/scripts/backup.mts", "--db-only"]), ["--db-only"]);
});

test("a failure that comes with its result prints exactly that one JSON document and exits with its failure's code", async () => {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  const exitBefore = process.exitCode;
  process.stdout.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await runScript(
      deploySpec,
      async () => {
        throw new FailedWithResult(new PreconditionError("the release never became healthy"), { ok: false, tag: "v2", rolledBack: true });
      },
      { argv: ["--json"] },
    );
    assert.equal(code, ExitCode.precondition);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
    process.exitCode = exitBefore;
  }
  assert.deepEqual(JSON.parse(written.join("")), { ok: false, tag: "v2", rolledBack: true });
});
