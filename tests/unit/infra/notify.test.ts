import assert from "node:assert/strict";
import { test } from "node:test";
import { REDACTED, Secret } from "../../../lib/core/secret.ts";
import { webhookBody } from "../../../lib/infra/notify.ts";

test("the webhook body is JSON with the notification's fields and a registered secret masked", () => {
  new Secret("super-secret-value-1");
  const body = webhookBody({
    event: "backup",
    status: "failure",
    host: "prod-1",
    backup: "20240301-020000",
    failedComponent: "postgres",
    reason: "pg_dump: password authentication failed (password super-secret-value-1)",
    durationMs: 1234,
    components: { postgres: "failed" },
  });
  assert.doesNotMatch(body, /super-secret-value-1/);
  const j = JSON.parse(body) as Record<string, unknown>;
  assert.equal(j.source, "claw-ops");
  assert.match(String(j.at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(
    { ...j, at: "x" },
    {
      source: "claw-ops",
      at: "x",
      event: "backup",
      status: "failure",
      host: "prod-1",
      backup: "20240301-020000",
      failedComponent: "postgres",
      reason: `pg_dump: password authentication failed (password ${REDACTED})`,
      durationMs: 1234,
      components: { postgres: "failed" },
    },
  );
});

test("a registered secret holding a double quote or backslash is masked in the webhook body too", () => {
  new Secret('pa"ss\\word-42');
  const body = webhookBody({ event: "restore", status: "failure", host: "h", reason: 'auth failed for pa"ss\\word-42' });
  assert.doesNotMatch(String((JSON.parse(body) as { reason: string }).reason), /pa"ss\\word-42/);
});

test("hardening row 11: the webhook's reason loses a database's row values and e-mail addresses; the other fields are kept", () => {
  const reason = [
    "migration 0005_add_users failed: psql exited with status 3",
    'ERROR:  null value in column "name" of relation "users" violates not-null constraint',
    "DETAIL:  Failing row contains (1, null, a@b.c).",
    'CONTEXT:  COPY users, line 2: "2,Bob,bob@example.com"',
  ].join("\n");
  const j = JSON.parse(
    webhookBody({ event: "deploy", status: "failure", host: "prod-1.claw-ai.com", release: "20240501-100000", tag: "1.4.2", reason }),
  ) as Record<string, unknown>;
  assert.equal(
    j.reason,
    [
      "migration 0005_add_users failed: psql exited with status 3",
      'ERROR:  null value in column "name" of relation "users" violates not-null constraint',
      `DETAIL:  Failing row contains (${REDACTED}).`,
      'CONTEXT:  COPY users, line 2: "2,Bob,<email>"',
    ].join("\n"),
  );
  assert.deepEqual([j.host, j.release, j.tag], ["prod-1.claw-ai.com", "20240501-100000", "1.4.2"]);
  assert.equal("reason" in (JSON.parse(webhookBody({ event: "backup", status: "success", host: "h" })) as object), false);
});
