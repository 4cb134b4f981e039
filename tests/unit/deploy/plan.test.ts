import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyOrder,
  type DeployFacts,
  type DeployOptions,
  type DeployPlan,
  describeDeploy,
  PHASES,
  type PhaseName,
  phaseOrder,
  planDeploy,
} from "../../../lib/deploy/plan.ts";
import { rolloutSteps } from "../../../lib/deploy/rollout.ts";
import { parseStack } from "../../../lib/project/stack.ts";
import { loadProdStack } from "../helpers.ts";

const IMAGE = "ghcr.io/claw/backend";

const INFRASTRUCTURE = [
  "postgres",
  "redis",
  "etcd",
  "minio",
  "milvus-standalone",
  "prometheus",
  "grafana",
  "loki",
  "promtail",
  "postgres-exporter",
  "redis-exporter",
  "node-exporter",
];

const ROLLOUT = [
  { service: "claw-ai-backend", strategy: "switch" },
  { service: "celery-worker", strategy: "overlap" },
  { service: "celery-beat", strategy: "recreate" },
  { service: "flower", strategy: "recreate" },
];

function facts(o: Partial<DeployFacts> = {}): DeployFacts {
  return {
    releaseId: "20260301-120000",
    image: IMAGE,
    tag: "1.2",
    currentTag: "1.1",
    previous: { id: "20260201-120000", tag: "1.1" },
    dataRunning: true,
    backendRunning: true,
    runningTag: "1.1",
    tls: undefined,
    backupComponents: ["postgres", "redis", "uploads", "config"],
    missing: [`${IMAGE}:1.2`],
    build: [],
    hooks: ["pre-deploy", "post-deploy"],
    domain: "api.claw-ai.com",
    ...o,
  };
}

function options(o: Partial<DeployOptions> = {}): DeployOptions {
  return { kind: "deploy", skipBackup: false, skipMigrations: false, skipSsl: false, skipHealthCheck: false, restoreDbOnFailure: false, ...o };
}

const plan = (f: Partial<DeployFacts> = {}, o: Partial<DeployOptions> = {}) => planDeploy(loadProdStack(), facts(f), options(o));
const phase = (p: DeployPlan, name: PhaseName) => p.phases.find((x) => x.name === name);

test("rolloutSteps of the prod stack: the backend is switched first, the worker overlaps, beat and flower are recreated", () => {
  assert.deepEqual(rolloutSteps(loadProdStack()), ROLLOUT);
});

const BACKUP = ["postgres", "redis", "uploads", "config"];
const DOES = {
  preflight: "Docker, Compose, .env.prod, compose config, free disk, ports, images, hooks, TLS plan",
  hook: "run hooks/pre-deploy (a failure stops the deploy here, nothing changed)",
  tls: "the certificate in nginx/ssl for api.claw-ai.com",
  infrastructure: `up and healthy, never recreating the app: ${INFRASTRUCTURE.join(", ")}`,
  backup: `${BACKUP.join(", ")} to backups/pre-deploy/ through the backup engine (kept by the snapshot policy: the newest DEPLOY_KEEP_BACKUPS or BACKUP_SNAPSHOT_KEEP, and any younger than BACKUP_SNAPSHOT_DAYS)`,
  migrations: `the migrate engine (alembic upgrade head, lint, advisory lock) in one-off containers of ${IMAGE}:1.2, before the new code serves`,
  rollout:
    "claw-ai-backend (beside the old, then nginx switched), celery-worker (new beside old, old finish their tasks), " +
    "celery-beat (old stops, then new starts), flower (old stops, then new starts)",
  prune: `older pre-deploy backups, and ${IMAGE} tags older than the kept releases (never volumes)`,
};

test("a deploy of the prod stack: every phase, the infrastructure without the app and nginx, the images to pull", () => {
  assert.deepEqual(plan(), {
    kind: "deploy",
    releaseId: "20260301-120000",
    image: IMAGE,
    tag: "1.2",
    currentTag: "1.1",
    previous: { id: "20260201-120000", tag: "1.1" },
    firstDeploy: false,
    infrastructure: INFRASTRUCTURE,
    rollout: ROLLOUT,
    nginx: "nginx",
    pull: [`${IMAGE}:1.2`],
    build: [],
    runningTag: "1.1",
    tls: undefined,
    backupComponents: BACKUP,
    options: options(),
    phases: [
      { name: "preflight", does: DOES.preflight },
      { name: "pre-deploy hook", does: DOES.hook },
      // No TLS plan in these facts: what --skip-ssl gives.
      { name: "tls", does: DOES.tls, skip: "--skip-ssl" },
      { name: "images", does: `pull ${IMAGE}:1.2` },
      { name: "infrastructure", does: DOES.infrastructure },
      { name: "backup", does: DOES.backup },
      { name: "migrations", does: DOES.migrations },
      { name: "release config", does: ".env.prod CLAW_AI_TAG=1.2" },
      { name: "nginx", does: "up to date before the switch (left running when unchanged)" },
      { name: "rollout", does: DOES.rollout },
      { name: "health", does: "every service healthy, /health through nginx reports 1.2" },
      { name: "ledger", does: "record release 1.2 as 20260301-120000 in releases/ledger.jsonl" },
      { name: "prune images", does: DOES.prune },
      { name: "post-deploy hook", does: "run hooks/post-deploy" },
    ],
  });
});

test("the plan walks PHASES in order, one entry each; a first deploy starts nginx after the rollout", () => {
  assert.deepEqual(
    plan().phases.map((p) => p.name),
    [...PHASES],
  );
  const first = plan({ backendRunning: false }).phases.map((p) => p.name);
  assert.deepEqual(first.slice(first.indexOf("rollout"), first.indexOf("rollout") + 2), ["rollout", "nginx"]);
  assert.equal(first.length, PHASES.length);
});

test("phaseOrder: PHASES as they are, or for a first deploy with nginx moved after the rollout; the plan lists them in that order", () => {
  assert.deepEqual(phaseOrder(false), [...PHASES]);
  assert.deepEqual(phaseOrder(true), [
    "preflight",
    "pre-deploy hook",
    "tls",
    "images",
    "infrastructure",
    "backup",
    "migrations",
    "release config",
    "rollout",
    "nginx",
    "health",
    "ledger",
    "prune images",
    "post-deploy hook",
  ]);
  assert.deepEqual(
    plan({ backendRunning: false }).phases.map((p) => p.name),
    phaseOrder(true),
  );
});

test("the apply walks the plan's phases: the changes up to health (a failure rolls back), then the committed ones (a failure only warns)", () => {
  const CHANGES = ["pre-deploy hook", "tls", "images", "infrastructure", "backup", "migrations", "release config"];
  const COMMITTED = ["ledger", "prune images", "post-deploy hook"];
  assert.deepEqual(applyOrder(plan()), { changes: [...CHANGES, "nginx", "rollout", "health"], committed: COMMITTED });
  assert.deepEqual(applyOrder(plan({ backendRunning: false })), { changes: [...CHANGES, "rollout", "nginx", "health"], committed: COMMITTED });
});

test("every phase a plan lists but preflight (run before the apply, before the confirmation) is applied once, in the plan's order, skipped ones included", () => {
  for (const p of [
    plan(),
    plan({ backendRunning: false, dataRunning: false, hooks: [], currentTag: "1.2" }),
    plan({}, { skipBackup: true, skipSsl: true, skipMigrations: true, skipHealthCheck: true }),
    plan({}, { kind: "rollback-release", skipMigrations: true }),
  ]) {
    const { changes, committed } = applyOrder(p);
    assert.deepEqual(
      ["preflight", ...changes, ...committed],
      p.phases.map((x) => x.name),
    );
  }
});

test("--skip-backup skips the backup, and so do data services that are not running", () => {
  assert.equal(phase(plan({}, { skipBackup: true }), "backup")?.skip, "--skip-backup");
  assert.equal(phase(plan({ dataRunning: false }), "backup")?.skip, "a first deploy: there is no data yet");
  assert.equal(phase(plan({ dataRunning: false }, { skipBackup: true }), "backup")?.skip, "--skip-backup");
});

test("--skip-ssl, --skip-migrations and --skip-health-check skip their phase", () => {
  const p = plan({}, { skipSsl: true, skipMigrations: true, skipHealthCheck: true });
  assert.deepEqual(phase(p, "tls"), { name: "tls", does: DOES.tls, skip: "--skip-ssl" });
  assert.equal(phase(p, "migrations")?.skip, "--skip-migrations");
  assert.equal(phase(p, "health")?.skip, "--skip-health-check");
  assert.deepEqual(
    p.phases.filter((x) => x.skip).map((x) => x.name),
    ["tls", "migrations", "health"],
  );
});

test("the tls phase names DOMAIN when no domain is configured", () => {
  assert.equal(phase(plan({ domain: undefined }), "tls")?.does, "the certificate in nginx/ssl for DOMAIN");
});

test("release config is skipped when .env.prod already holds the tag", () => {
  assert.deepEqual(phase(plan({ currentTag: "1.2" }), "release config"), {
    name: "release config",
    does: ".env.prod CLAW_AI_TAG=1.2",
    skip: ".env.prod already says 1.2",
  });
});

test("hooks that are absent skip their phases", () => {
  const p = plan({ hooks: [] });
  assert.equal(phase(p, "pre-deploy hook")?.skip, "no hooks/pre-deploy");
  assert.equal(phase(p, "post-deploy hook")?.skip, "no hooks/post-deploy");
  const onlyPost = plan({ hooks: ["post-deploy"] });
  assert.equal(phase(onlyPost, "pre-deploy hook")?.skip, "no hooks/pre-deploy");
  assert.equal(phase(onlyPost, "post-deploy hook")?.skip, undefined);
});

test("the images phase lists every missing image to pull, and is skipped when all are here", () => {
  const p = plan({ missing: [`${IMAGE}:1.2`, "nginx:alpine", "postgres:15-alpine"] });
  assert.deepEqual(p.pull, [`${IMAGE}:1.2`, "nginx:alpine", "postgres:15-alpine"]);
  assert.deepEqual(phase(p, "images"), { name: "images", does: `pull ${IMAGE}:1.2, nginx:alpine, postgres:15-alpine` });
  const none = plan({ missing: [] });
  assert.deepEqual(none.pull, []);
  assert.deepEqual(phase(none, "images"), { name: "images", does: "", skip: `every image is on this host (${IMAGE}:1.2 included)` });
});

test("with services to build, the app image is built rather than pulled; other missing images are still pulled", () => {
  const p = plan({ missing: [`${IMAGE}:1.2`, "nginx:alpine"], build: ["claw-ai-backend"] });
  assert.deepEqual(p.pull, ["nginx:alpine"]);
  assert.deepEqual(p.build, ["claw-ai-backend"]);
  assert.deepEqual(phase(p, "images"), { name: "images", does: "pull nginx:alpine; build claw-ai-backend" });
  assert.deepEqual(phase(plan({ missing: [], build: ["claw-ai-backend"] }), "images"), { name: "images", does: "build claw-ai-backend" });
});

test("a deploy when the backend does not run is a first deploy: nginx is started in front of the new backend", () => {
  const p = plan({ backendRunning: false, previous: undefined, currentTag: "" });
  assert.equal(p.firstDeploy, true);
  assert.deepEqual(phase(p, "nginx"), { name: "nginx", does: "start nginx in front of the new backend" });
  assert.equal(describeDeploy(p)[0], `deploy ${IMAGE}:1.2 as release 20260301-120000 (first deploy)`);
});

test("describeDeploy prints a head line and one numbered line per phase, the skipped ones with their reason", () => {
  assert.deepEqual(describeDeploy(plan({ hooks: [] }, { skipBackup: true })), [
    `deploy ${IMAGE}:1.2 as release 20260301-120000 (serving now: 1.1, release 20260201-120000)`,
    `   1. preflight        ${DOES.preflight}`,
    "   2. pre-deploy hook  skipped: no hooks/pre-deploy",
    "   3. tls              skipped: --skip-ssl",
    `   4. images           pull ${IMAGE}:1.2`,
    `   5. infrastructure   ${DOES.infrastructure}`,
    "   6. backup           skipped: --skip-backup",
    `   7. migrations       ${DOES.migrations}`,
    "   8. release config   .env.prod CLAW_AI_TAG=1.2",
    "   9. nginx            up to date before the switch (left running when unchanged)",
    `  10. rollout          ${DOES.rollout}`,
    "  11. health           every service healthy, /health through nginx reports 1.2",
    "  12. ledger           record release 1.2 as 20260301-120000 in releases/ledger.jsonl",
    `  13. prune images     ${DOES.prune}`,
    "  14. post-deploy hook skipped: no hooks/post-deploy",
  ]);
});

test("a backend that runs without a ledger release has no 'serving now' and is not a first deploy", () => {
  assert.equal(describeDeploy(plan({ previous: undefined }))[0], `deploy ${IMAGE}:1.2 as release 20260301-120000`);
});

test("going back to a release: its own head line, migrations never downgrade, the ledger records 'back to'", () => {
  const p = plan(
    { tag: "1.0", currentTag: "1.2", previous: { id: "20260301-120000", tag: "1.2" }, missing: [] },
    { kind: "rollback-release", skipMigrations: true },
  );
  assert.equal(p.kind, "rollback-release");
  assert.equal(describeDeploy(p)[0], `go back to ${IMAGE}:1.0 as release 20260301-120000 (serving now: 1.2)`);
  assert.equal(phase(p, "migrations")?.skip, "going back never downgrades the schema");
  assert.equal(phase(p, "ledger")?.does, "record back to release 1.0 as 20260301-120000 in releases/ledger.jsonl");
  assert.equal(
    describeDeploy(plan({ tag: "1.0", previous: undefined }, { kind: "auto-rollback" }))[0],
    `go back to ${IMAGE}:1.0 as release 20260301-120000`,
  );
});

const SYNTHETIC = `
services:
  beat:
    image: app:\${TAG}
    labels: { ai.claw.role: celery-beat }
  api:
    image: app:\${TAG}
    labels: { ai.claw.role: backend }
  cron:
    image: app:\${TAG}
    container_name: app_cron
  db:
    image: postgres:15-alpine
    labels: { ai.claw.role: postgres }
  extra-flower:
    image: app:\${TAG}
    labels: { ai.claw.role: flower }
  worker:
    image: app:\${TAG}
    labels: { ai.claw.role: celery-worker }
  helper:
    image: app:\${TAG}
  tools:
    image: app-tools:\${TAG}
  proxy:
    image: nginx:alpine
    labels: { ai.claw.role: nginx }
`;

test("a service on the backend's image without container_name overlaps whatever its role; beat and named singletons are recreated", () => {
  const stack = parseStack([SYNTHETIC]);
  assert.deepEqual(rolloutSteps(stack), [
    { service: "api", strategy: "switch" },
    { service: "extra-flower", strategy: "overlap" },
    { service: "worker", strategy: "overlap" },
    { service: "helper", strategy: "overlap" },
    { service: "beat", strategy: "recreate" },
    { service: "cron", strategy: "recreate" },
  ]);
  const p = planDeploy(stack, facts({ image: "app" }), options());
  assert.deepEqual(p.infrastructure, ["db", "tools"]);
  assert.equal(p.nginx, "proxy");
});

test("a stack without a backend image rolls nothing out, and one without nginx skips the nginx phase", () => {
  const stack = parseStack(["services:\n  db:\n    image: postgres:15-alpine\n  api:\n    build: .\n    labels: { ai.claw.role: backend }\n"]);
  assert.deepEqual(rolloutSteps(stack), []);
  const p = planDeploy(stack, facts(), options());
  assert.deepEqual(p.rollout, []);
  assert.deepEqual(p.infrastructure, ["db", "api"]);
  assert.equal(p.nginx, undefined);
  assert.deepEqual(phase(p, "rollout"), { name: "rollout", does: "", skip: "no service runs the backend's image" });
  assert.deepEqual(phase(p, "nginx"), {
    name: "nginx",
    does: "up to date before the switch (left running when unchanged)",
    skip: "no nginx service",
  });
});

test("a Celery worker with a container_name (which Compose refuses to scale) is recreated, not overlapped", {}, () => {
  const stack = parseStack([
    "services:\n  api:\n    image: app:1\n    labels: { ai.claw.role: backend }\n  worker:\n    image: app:1\n    container_name: claw_ai_celery_worker\n    labels: { ai.claw.role: celery-worker }\n",
  ]);
  // Only recreate runs one container at a time; overlap needs two of the service at once.
  assert.equal(rolloutSteps(stack).find((s) => s.service === "worker")?.strategy, "recreate");
});
