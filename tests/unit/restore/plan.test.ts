import assert from "node:assert/strict";
import { test } from "node:test";
import { DEPENDENT_ROLES, describePlan } from "../../../lib/restore/plan.ts";
import { samplePlan } from "../helpers.ts";

test("the dependents stopped during a data restore are the backend and the celery services", () => {
  assert.deepEqual(DEPENDENT_ROLES, ["backend", "celery-worker", "celery-beat", "flower"]);
});

const plan = samplePlan;

test("the plan of a data-only rollback says config is not restored and the release is unchanged", () => {
  assert.deepEqual(
    describePlan(
      plan({
        components: ["postgres", "redis"],
        skipped: ["milvus", "uploads", "config"],
        stop: ["claw-ai-backend", "celery-worker", "celery-beat", "flower"],
      }),
    ),
    [
      "backup:      20240215-020000 (/srv/claw/backups/daily/20240215-020000)",
      "restore:     postgres, redis",
      "leave as is: milvus, uploads, config",
      "config:      not restored",
      "release:     ghcr.io/claw/backend:1.1 (unchanged)",
      "stop/start:  claw-ai-backend, celery-worker, celery-beat, flower",
      "snapshot:    backups/pre-rollback/<now> first, holding everything that will be overwritten (data kept in place, renamed, where it can be)",
    ],
  );
});

test("the plan shows the release change only when config is restored and the release differs", () => {
  const withConfig = describePlan(plan({ components: ["postgres", "config"], skipped: ["redis", "milvus", "uploads"], snapshotTier: "pre-restore" }));
  assert.equal(withConfig[3], "config:      restored (.env.prod, compose, nginx, prometheus, grafana, loki)");
  assert.equal(withConfig[4], "release:     ghcr.io/claw/backend:1.1 -> ghcr.io/claw/backend:1.0");
  assert.equal(withConfig[5], "stop/start:  none");
  assert.equal(
    withConfig[6],
    "snapshot:    backups/pre-restore/<now> first, holding everything that will be overwritten (data kept in place, renamed, where it can be)",
  );
  const sameRelease = describePlan(plan({ components: ["config"], releaseFrom: "ghcr.io/claw/backend:1.0" }));
  assert.equal(sameRelease[4], "release:     ghcr.io/claw/backend:1.0 (unchanged)");
  const nothing = describePlan(plan({ skipped: ["postgres", "redis", "milvus", "uploads", "config"] }));
  assert.equal(nothing[1], "restore:     nothing");
  assert.equal(nothing[2], "leave as is: postgres, redis, milvus, uploads, config");
  assert.equal(nothing[3], "config:      not restored");
});

test("an encrypted set-up refuses a plaintext backup (exit 5) unless --allow-plaintext says it is expected", async () => {
  const { refusePlaintext } = await import("../../../lib/restore/plan.ts");
  const { InvalidBackupError } = await import("../../../lib/core/errors.ts");
  const plain = { id: "20260101-020000" } as unknown as Parameters<typeof refusePlaintext>[0];
  const encrypted = { ...plain, encryption: { scheme: "age", recipients: ["age1x"] } } as unknown as Parameters<typeof refusePlaintext>[0];
  assert.throws(
    () => refusePlaintext(plain, true, false),
    (e: unknown) => e instanceof InvalidBackupError && /not encrypted.*--allow-plaintext/s.test(`${e.message} ${e.hint}`),
  );
  refusePlaintext(plain, true, true);
  refusePlaintext(plain, false, false);
  refusePlaintext(encrypted, true, false);
});
