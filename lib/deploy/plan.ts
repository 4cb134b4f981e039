/**
 * The deploy plan: what a deploy will do, phase by phase, computed from the stack model, the
 * flags and what runs now, with no side effects. `--dry-run` prints it; the apply walks the
 * same object.
 */
import type { ComponentName } from "../backup/manifest.ts";
import type { StackModel } from "../project/stack.ts";
import type { ReleaseKind } from "./ledger.ts";
import type { HookName } from "./preflight.ts";
import { type RolloutStep, rolloutSteps } from "./rollout.ts";
import { describeTlsPlan, type TlsPlan } from "./tls.ts";

export const PHASES = [
  "preflight",
  "pre-deploy hook",
  "tls",
  "images",
  "infrastructure",
  "backup",
  "migrations",
  "release config",
  "nginx",
  "rollout",
  "health",
  "ledger",
  "prune images",
  "post-deploy hook",
] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PlannedPhase {
  name: PhaseName;
  /** What it will do, in a line. */
  does: string;
  /** Why it will not run, when it will not. */
  skip?: string;
}

export interface DeployOptions {
  kind: ReleaseKind;
  skipBackup: boolean;
  skipMigrations: boolean;
  skipSsl: boolean;
  skipHealthCheck: boolean;
  restoreDbOnFailure: boolean;
}

export interface DeployFacts {
  releaseId: string;
  image: string;
  tag: string;
  /** The tag .env.prod holds now, and the release that serves (ledger), if any. */
  currentTag: string;
  previous: { id: string; tag: string } | undefined;
  /** Whether there is data to back up (Postgres runs or its volume exists) and whether the backend runs. */
  dataRunning: boolean;
  backendRunning: boolean;
  /** The tag the serving backend container runs (what a failure goes back to), if one runs. */
  runningTag: string | undefined;
  /** The TLS decision preflight made (undefined with --skip-ssl). */
  tls: TlsPlan | undefined;
  backupComponents: ComponentName[];
  missing: string[];
  build: string[];
  hooks: HookName[];
  domain: string | undefined;
}

export interface DeployPlan {
  kind: ReleaseKind;
  releaseId: string;
  image: string;
  tag: string;
  currentTag: string;
  previous: { id: string; tag: string } | undefined;
  firstDeploy: boolean;
  infrastructure: string[];
  rollout: RolloutStep[];
  nginx: string | undefined;
  pull: string[];
  build: string[];
  runningTag: string | undefined;
  tls: TlsPlan | undefined;
  backupComponents: ComponentName[];
  options: DeployOptions;
  phases: PlannedPhase[];
}

/** Pure: the plan of one deploy. */
export function planDeploy(stack: StackModel, facts: DeployFacts, options: DeployOptions): DeployPlan {
  const rollout = rolloutSteps(stack);
  const app = new Set(rollout.map((s) => s.service));
  const nginx = stack.services.find((s) => s.role === "nginx")?.name;
  const infrastructure = stack.services.map((s) => s.name).filter((n) => !app.has(n) && n !== nginx);
  const firstDeploy = !facts.backendRunning;
  const pull = facts.missing.filter((ref) => !facts.build.length || !ref.startsWith(`${facts.image}:`));
  const going = options.kind === "deploy" ? `release ${facts.tag}` : `back to release ${facts.tag}`;
  const phase: Record<PhaseName, PlannedPhase> = {
    preflight: { name: "preflight", does: "Docker, Compose, .env.prod, compose config, free disk, ports, images, hooks, TLS plan" },
    "pre-deploy hook": {
      name: "pre-deploy hook",
      does: "run hooks/pre-deploy (a failure stops the deploy here, nothing changed)",
      ...(facts.hooks.includes("pre-deploy") ? {} : { skip: "no hooks/pre-deploy" }),
    },
    tls: {
      name: "tls",
      does: facts.tls ? describeTlsPlan(facts.tls) : `the certificate in nginx/ssl for ${facts.domain ?? "DOMAIN"}`,
      ...(options.skipSsl || !facts.tls ? { skip: "--skip-ssl" } : {}),
    },
    images: {
      name: "images",
      does: [pull.length ? `pull ${pull.join(", ")}` : "", facts.build.length ? `build ${facts.build.join(", ")}` : ""].filter(Boolean).join("; "),
      ...(pull.length || facts.build.length ? {} : { skip: `every image is on this host (${facts.image}:${facts.tag} included)` }),
    },
    infrastructure: { name: "infrastructure", does: `up and healthy, never recreating the app: ${infrastructure.join(", ")}` },
    backup: {
      name: "backup",
      does: `${facts.backupComponents.join(", ")} to backups/pre-deploy/ through the backup engine (kept by the snapshot policy: the newest DEPLOY_KEEP_BACKUPS or BACKUP_SNAPSHOT_KEEP, and any younger than BACKUP_SNAPSHOT_DAYS)`,
      ...(options.skipBackup ? { skip: "--skip-backup" } : facts.dataRunning ? {} : { skip: "a first deploy: there is no data yet" }),
    },
    migrations: {
      name: "migrations",
      does: `the migrate engine (alembic upgrade head, lint, advisory lock) in one-off containers of ${facts.image}:${facts.tag}, before the new code serves`,
      ...(options.skipMigrations ? { skip: options.kind === "deploy" ? "--skip-migrations" : "going back never downgrades the schema" } : {}),
    },
    "release config": {
      name: "release config",
      does: `.env.prod CLAW_AI_TAG=${facts.tag}`,
      ...(facts.currentTag === facts.tag ? { skip: `.env.prod already says ${facts.tag}` } : {}),
    },
    nginx: {
      name: "nginx",
      does: firstDeploy ? "start nginx in front of the new backend" : "up to date before the switch (left running when unchanged)",
      ...(nginx ? {} : { skip: "no nginx service" }),
    },
    rollout: {
      name: "rollout",
      does: rollout
        .map(
          (s) =>
            `${s.service} (${s.strategy === "switch" ? "beside the old, then nginx switched" : s.strategy === "overlap" ? "new beside old, old finish their tasks" : "old stops, then new starts"})`,
        )
        .join(", "),
      ...(rollout.length ? {} : { skip: "no service runs the backend's image" }),
    },
    health: {
      name: "health",
      does: `every service healthy, /health through nginx reports ${facts.tag}`,
      ...(options.skipHealthCheck ? { skip: "--skip-health-check" } : {}),
    },
    ledger: { name: "ledger", does: `record ${going} as ${facts.releaseId} in releases/ledger.jsonl` },
    "prune images": { name: "prune images", does: `older pre-deploy backups, and ${facts.image} tags older than the kept releases (never volumes)` },
    "post-deploy hook": {
      name: "post-deploy hook",
      does: "run hooks/post-deploy",
      ...(facts.hooks.includes("post-deploy") ? {} : { skip: "no hooks/post-deploy" }),
    },
  };
  // A running nginx is updated before the switch; a first deploy starts it after the backend.
  const order: PhaseName[] = firstDeploy
    ? PHASES.filter((n) => n !== "nginx").flatMap((n) => (n === "rollout" ? ["rollout", "nginx"] : [n]))
    : [...PHASES];
  const phases = order.map((n) => phase[n]);
  return {
    kind: options.kind,
    releaseId: facts.releaseId,
    image: facts.image,
    tag: facts.tag,
    currentTag: facts.currentTag,
    previous: facts.previous,
    firstDeploy,
    infrastructure,
    rollout,
    nginx,
    pull,
    build: facts.build,
    runningTag: facts.runningTag,
    tls: facts.tls,
    backupComponents: facts.backupComponents,
    options,
    phases,
  };
}

/** Pure: the plan as printed lines. */
export function describeDeploy(plan: DeployPlan): string[] {
  const head =
    plan.kind === "deploy"
      ? `deploy ${plan.image}:${plan.tag} as release ${plan.releaseId}${plan.previous ? ` (serving now: ${plan.previous.tag}, release ${plan.previous.id})` : plan.firstDeploy ? " (first deploy)" : ""}`
      : `go back to ${plan.image}:${plan.tag} as release ${plan.releaseId}${plan.previous ? ` (serving now: ${plan.previous.tag})` : ""}`;
  return [head, ...plan.phases.map((p, i) => `  ${String(i + 1).padStart(2)}. ${p.name.padEnd(16)} ${p.skip ? `skipped: ${p.skip}` : p.does}`)];
}
