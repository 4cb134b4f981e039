/**
 * The deploy plan: what a deploy will do, phase by phase, computed from the stack model, the
 * flags and what runs now, with no side effects. `--dry-run` prints it; the apply walks the
 * same object. Its phases' texts are English (--json, the ledger's notes); the operator's
 * language is what describeDeploy prints (phasesShown).
 */
import type { ComponentName } from "../backup/manifest.ts";
import { type Catalogue, catalogue, msg, padCells } from "../core/i18n/index.ts";
import type { StackModel } from "../project/stack.ts";
import type { ReleaseKind } from "./ledger.ts";
import type { HookName } from "./preflight.ts";
import { type RolloutStep, rolloutSteps } from "./rollout.ts";
import { describeTlsPlan, shownTlsPlan, type TlsPlan } from "./tls.ts";

const EN = catalogue("en");

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
  // The phases' texts in a language: English for the plan's data, the operator's for the screen.
  const texts = (c: Catalogue): Record<PhaseName, PlannedPhase> => {
    const t = c.deploy.plan;
    return {
      preflight: { name: "preflight", does: t.preflight },
      "pre-deploy hook": {
        name: "pre-deploy hook",
        does: t.preDeployHook,
        ...(facts.hooks.includes("pre-deploy") ? {} : { skip: t.noPreDeployHook }),
      },
      tls: {
        name: "tls",
        does: facts.tls ? describeTlsPlan(c === EN ? facts.tls : shownTlsPlan(facts.tls), c) : t.tlsNoPlan({ domain: facts.domain ?? "DOMAIN" }),
        ...(options.skipSsl || !facts.tls ? { skip: "--skip-ssl" } : {}),
      },
      images: {
        name: "images",
        does: t.images({ pull: pull.join(", "), build: facts.build.join(", ") }),
        ...(pull.length || facts.build.length ? {} : { skip: t.imagesHere({ ref: `${facts.image}:${facts.tag}` }) }),
      },
      infrastructure: { name: "infrastructure", does: t.infrastructure({ services: infrastructure.join(", ") }) },
      backup: {
        name: "backup",
        does: t.backup({ components: facts.backupComponents.join(", ") }),
        ...(options.skipBackup ? { skip: "--skip-backup" } : facts.dataRunning ? {} : { skip: t.noData }),
      },
      migrations: {
        name: "migrations",
        does: t.migrations({ ref: `${facts.image}:${facts.tag}` }),
        ...(options.skipMigrations ? { skip: options.kind === "deploy" ? "--skip-migrations" : t.neverDowngrades } : {}),
      },
      "release config": {
        name: "release config",
        does: t.releaseConfig({ tag: facts.tag }),
        ...(facts.currentTag === facts.tag ? { skip: t.releaseConfigSame({ tag: facts.tag }) } : {}),
      },
      nginx: {
        name: "nginx",
        does: firstDeploy ? t.nginxFirst : t.nginxUpdate,
        ...(nginx ? {} : { skip: t.noNginx }),
      },
      rollout: {
        name: "rollout",
        does: t.rollout({ steps: rollout }),
        ...(rollout.length ? {} : { skip: t.noRollout }),
      },
      health: {
        name: "health",
        does: t.health({ tag: facts.tag }),
        ...(options.skipHealthCheck ? { skip: "--skip-health-check" } : {}),
      },
      ledger: {
        name: "ledger",
        does:
          options.kind === "deploy" ? t.ledgerDeploy({ tag: facts.tag, id: facts.releaseId }) : t.ledgerBack({ tag: facts.tag, id: facts.releaseId }),
      },
      "prune images": { name: "prune images", does: t.pruneImages({ image: facts.image }) },
      "post-deploy hook": {
        name: "post-deploy hook",
        does: t.postDeployHook,
        ...(facts.hooks.includes("post-deploy") ? {} : { skip: t.noPostDeployHook }),
      },
    };
  };
  // A running nginx is updated before the switch; a first deploy starts it after the backend.
  const order: PhaseName[] = firstDeploy
    ? PHASES.filter((n) => n !== "nginx").flatMap((n) => (n === "rollout" ? ["rollout", "nginx"] : [n]))
    : [...PHASES];
  const phase = texts(EN);
  const phases = order.map((n) => phase[n]);
  const plan: DeployPlan = {
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
  const here = catalogue();
  if (here !== EN) {
    const shown = texts(here);
    SHOWN.set(
      plan,
      order.map((n) => shown[n]),
    );
  }
  return plan;
}

/** The phases of a plan in the operator's language, when it is not English (the plan's own are). */
const SHOWN = new WeakMap<DeployPlan, PlannedPhase[]>();

/** The phases of a plan as the operator reads them (the plan's data stays English). */
export function phasesShown(plan: DeployPlan): readonly PlannedPhase[] {
  return SHOWN.get(plan) ?? plan.phases;
}

/** Pure: the plan as printed lines. */
export function describeDeploy(plan: DeployPlan): string[] {
  const t = msg.deploy.plan;
  const at = { ref: `${plan.image}:${plan.tag}`, id: plan.releaseId };
  const head =
    plan.kind === "deploy"
      ? plan.previous
        ? t.headDeployServing({ ...at, tag: plan.previous.tag, previous: plan.previous.id })
        : plan.firstDeploy
          ? t.headDeployFirst(at)
          : t.headDeploy(at)
      : plan.previous
        ? t.headBackServing({ ...at, tag: plan.previous.tag })
        : t.headBack(at);
  return [
    head,
    ...phasesShown(plan).map((p, i) => `  ${String(i + 1).padStart(2)}. ${padCells(p.name, 16)} ${p.skip ? t.skipped({ why: p.skip }) : p.does}`),
  ];
}
