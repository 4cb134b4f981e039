import assert from "node:assert/strict";
import { test } from "node:test";
import { Secret } from "../../../lib/core/secret.ts";
import { diagnosticLines, readinessBudgetMs, stopGraceSec } from "../../../lib/deploy/containers.ts";
import { loadProdStack } from "../helpers.ts";

const S = 1000;
const hc = (o: { interval?: string; retries?: number; startPeriod?: string } = {}) => ({ healthcheck: { test: ["CMD", "true"], ...o } });

test("the readiness budget is start_period + retries × interval + 5 s", () => {
  assert.equal(readinessBudgetMs(hc({ interval: "5s", retries: 5, startPeriod: "30s" })), 60 * S);
  assert.equal(readinessBudgetMs(hc({ interval: "1m30s", retries: 2, startPeriod: "500ms" })), 185.5 * S);
});

test("without interval, retries or start_period the budget uses Docker's defaults (30 s, 3, none)", () => {
  assert.equal(readinessBudgetMs(hc()), 95 * S);
  assert.equal(readinessBudgetMs(hc({ interval: "10s" })), 35 * S);
  assert.equal(readinessBudgetMs(hc({ retries: 1 })), 35 * S);
  assert.equal(readinessBudgetMs(hc({ startPeriod: "1m" })), 155 * S);
});

test("retries: 0 and interval: 0s mean Docker's defaults (3 and 30 s), as the engine reads them", {}, () => {
  assert.equal(readinessBudgetMs(hc({ retries: 0, interval: "5s" })), 20 * S);
  assert.equal(readinessBudgetMs(hc({ interval: "0s" })), 95 * S);
});

test("the readiness budget is capped at 15 minutes", () => {
  assert.equal(readinessBudgetMs(hc({ interval: "5m", retries: 10 })), 15 * 60 * S);
  assert.equal(readinessBudgetMs(hc({ startPeriod: "2h" })), 15 * 60 * S);
});

test("a service without a healthcheck gets 30 s", () => {
  assert.equal(readinessBudgetMs({}), 30 * S);
  assert.equal(readinessBudgetMs({ healthcheck: undefined }), 30 * S);
});

test("the prod stack's app services: the budget each one gets", () => {
  const budget = (name: string) => readinessBudgetMs(loadProdStack().services.find((s) => s.name === name)!);
  assert.equal(budget("claw-ai-backend"), 60 * S); // 30s + 5 × 5s + 5s
  assert.equal(budget("celery-worker"), 80 * S); // 30s + 3 × 15s + 5s
  assert.equal(budget("celery-beat"), 55 * S); // 20s + 3 × 10s + 5s
  assert.equal(budget("flower"), 35 * S); // 3 × 10s + 5s
  assert.equal(budget("redis-exporter"), 30 * S); // no healthcheck
});

test("stopGraceSec is stop_grace_period in whole seconds (rounded up), else Docker's 10 s", () => {
  assert.equal(stopGraceSec({ stopGracePeriod: "30s" }), 30);
  assert.equal(stopGraceSec({ stopGracePeriod: "5m" }), 300);
  assert.equal(stopGraceSec({ stopGracePeriod: "1m30s" }), 90);
  assert.equal(stopGraceSec({ stopGracePeriod: "1500ms" }), 2);
  assert.equal(stopGraceSec({ stopGracePeriod: "0s" }), 0);
  assert.equal(stopGraceSec({}), 10);
  assert.equal(stopGraceSec({ stopGracePeriod: "soon" }), 10);
});

test("the prod stack: the backend gets 30 s to finish its requests, the worker 5 minutes for its tasks", () => {
  const grace = (name: string) => stopGraceSec(loadProdStack().services.find((s) => s.name === name)!);
  assert.equal(grace("claw-ai-backend"), 30);
  assert.equal(grace("celery-worker"), 300);
  assert.equal(grace("celery-beat"), 10);
});

test("hardening row 11: diagnose's lines (the health probes, the log tail) come out masked, the rest as Docker gave them", () => {
  const pw = new Secret("pg+pass/word@1");
  // `docker inspect --format '{{json .State.Health}}'` of an unhealthy backend, and `docker logs --tail 20` of it.
  const health = JSON.stringify({
    Status: "unhealthy",
    FailingStreak: 3,
    Log: [1, 2, 3, 4].map((i) => ({
      Start: `2024-05-01T10:00:0${i}.000000000Z`,
      End: `2024-05-01T10:00:0${i}.100000000Z`,
      ExitCode: 1,
      Output: `curl: (22) The requested URL returned error: 500\nuser alice@example.com: probe ${i}`,
    })),
  });
  const logs = [
    `2024-05-01 10:00:00,120 INFO  app.startup: database postgresql://claw:${encodeURIComponent(pw.reveal())}@postgres:5432/claw_ai`,
    'sqlalchemy.exc.IntegrityError: (psycopg2.errors.NotNullViolation) null value in column "name" of relation "users" violates not-null constraint',
    "DETAIL:  Failing row contains (1, null, a@b.c).",
    "[parameters: {'email': 'a@b.c'}]",
    "",
  ].join("\n");
  assert.deepEqual(diagnosticLines(health, logs, 20), [
    "health check: exit 1: user <email>: probe 2",
    "health check: exit 1: user <email>: probe 3",
    "health check: exit 1: user <email>: probe 4",
    "last 20 log lines:",
    "  2024-05-01 10:00:00,120 INFO  app.startup: database postgresql://claw:[REDACTED]@postgres:5432/claw_ai",
    '  sqlalchemy.exc.IntegrityError: (psycopg2.errors.NotNullViolation) null value in column "name" of relation "users" violates not-null constraint',
    "  DETAIL:  Failing row contains ([REDACTED]).",
    "  [parameters: {'email': '<email>'}]",
  ]);
  // No health record (no healthcheck: Docker prints null) and no logs: nothing to show.
  assert.deepEqual(diagnosticLines("null\n", "", 20), []);
});
