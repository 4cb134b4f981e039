import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { formatCommand } from "../../../lib/core/exec.ts";
import { EMAIL_MASK, REDACTED, redact, redactedJson, redactPersonal, Secret } from "../../../lib/core/secret.ts";

test("a Secret prints as [REDACTED] in strings, JSON and inspect", () => {
  const s = new Secret("s3cr3t-value-123");
  assert.equal(`${s}`, REDACTED);
  assert.equal(JSON.stringify({ s }), `{"s":"${REDACTED}"}`);
  assert.equal(inspect(s), REDACTED);
  assert.equal(s.reveal(), "s3cr3t-value-123");
});

test("known secret values are masked anywhere in a text", () => {
  new Secret("abcdef-secret");
  assert.equal(redact("url=redis://:abcdef-secret@redis:6379/0"), `url=redis://:${REDACTED}@redis:6379/0`);
});

test("a secret holding a double quote or a backslash is masked in JSON output and in logged commands", () => {
  const value = `pa"ss\\wo'rd-${Date.now()}`;
  const s = new Secret(value);
  assert.equal(s.reveal(), value);
  const json = redactedJson({ error: `login failed for ${value}`, nested: [value] }, 2);
  assert.ok(!json.includes(value) && !json.includes(JSON.stringify(value).slice(1, -1)), json);
  assert.match(json, /\[REDACTED\]/);
  const printed = formatCommand(["psql", "-c", `ALTER USER x PASSWORD '${value}'`, value]);
  assert.ok(!printed.includes('pa"ss') && !printed.includes("wo'\\''rd"), printed);
  assert.equal((printed.match(/\[REDACTED\]/g) ?? []).length, 2);
});

test("hardening row 11: a secret is masked URL-encoded too, and the row values of a PostgreSQL DETAIL are never logged", () => {
  const s = new Secret("p@ss/w0rd+x y");
  assert.equal(redact(`postgresql://claw:${encodeURIComponent(s.reveal())}@postgres/claw_ai`), "postgresql://claw:[REDACTED]@postgres/claw_ai");
  assert.equal(redact(`password=${s.reveal()}`), "password=[REDACTED]");
  assert.equal(
    redact('ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(alice@example.com) already exists.'),
    'ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=([REDACTED]) already exists.',
  );
  assert.equal(redact("DETAIL:  Key (a, b)=(1, lower(x)) is not present"), "DETAIL:  Key (a, b)=([REDACTED]) is not present");
});

// Lines as the postgres:15 image logs them (log_line_prefix '%m [%p] ') and as psql prints them.
const PG_NOT_NULL = [
  '2024-05-01 10:00:00.123 UTC [68] ERROR:  null value in column "name" of relation "users" violates not-null constraint',
  "2024-05-01 10:00:00.123 UTC [68] DETAIL:  Failing row contains (1, null, a@b.c).",
  "2024-05-01 10:00:00.123 UTC [68] STATEMENT:  INSERT INTO users (id, name, email) VALUES (1, NULL, 'a@b.c')",
];

test("hardening row 11: diagnostic log lines are masked (secrets, URL-encoded secrets, e-mail addresses, Failing row contains values)", () => {
  const s = new Secret("db p@ss/1+x");
  assert.deepEqual(
    [
      ...PG_NOT_NULL,
      `sqlalchemy.exc.OperationalError: connection to postgresql://claw:${encodeURIComponent(s.reveal())}@postgres:5432/claw_ai failed`,
      `worker: PASSWORD=${s.reveal()}`,
      "DETAIL:  Key (email)=(alice@example.com) already exists.",
      "INFO login ok user=li.lei@example.com, notified <bob.smith+ops@mail.example.co.uk>",
    ].map(redactPersonal),
    [
      PG_NOT_NULL[0],
      "2024-05-01 10:00:00.123 UTC [68] DETAIL:  Failing row contains ([REDACTED]).",
      "2024-05-01 10:00:00.123 UTC [68] STATEMENT:  INSERT INTO users (id, name, email) VALUES (1, NULL, '<email>')",
      "sqlalchemy.exc.OperationalError: connection to postgresql://claw:[REDACTED]@postgres:5432/claw_ai failed",
      "worker: PASSWORD=[REDACTED]",
      "DETAIL:  Key (email)=([REDACTED]) already exists.",
      "INFO login ok user=<email>, notified <<email>>",
    ],
  );
  // A value may hold a parenthesis: the whole row goes, to the line's last one.
  assert.equal(redact("DETAIL:  Failing row contains (2, x) y, null)."), `DETAIL:  Failing row contains (${REDACTED}).`);
  // psql's own words, as they reach a migration's error.
  assert.equal(
    redact(`ERROR:  null value in column "name" of relation "users" violates not-null constraint\nDETAIL:  Failing row contains (1, null, a@b.c).`),
    `ERROR:  null value in column "name" of relation "users" violates not-null constraint\nDETAIL:  Failing row contains (${REDACTED}).`,
  );
});

test("hardening row 11: what operators need is not masked, and redact() alone keeps the operator's own e-mail address", () => {
  const kept = [
    "2024-05-01T10:00:00Z backend-1 ghcr.io/claw-ai/backend@sha256:0f3c9a1b2c3d4e5f upgrade to revision 0005_add_users from 0004",
    "release 20240501-100000-1.4.2 image registry.example.com/claw-ai/backend:1.4.2 in /srv/claw/releases, pkg@1.2.3",
    "s3 endpoint https://ops@minio.example.com/claw-backups, https://user:[REDACTED]@minio.example.com",
    'ERROR:  relation "users" does not exist at character 15',
  ];
  assert.deepEqual(kept.map(redactPersonal), kept);
  assert.equal(redact("certbot certonly --email ops@claw-ai.com -d claw-ai.com"), "certbot certonly --email ops@claw-ai.com -d claw-ai.com");
  assert.equal(redactPersonal("MAILTO=ops@claw-ai.com"), `MAILTO=${EMAIL_MASK}`);
});
