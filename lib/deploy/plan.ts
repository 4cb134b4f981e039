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
/** The phases the apply runs: preflight runs before it (prepare.ts), before the confirmation. */
export type AppliedPhase = Exclude<PhaseName, "preflight">;

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

/** What the phases' texts are made from: the facts, the options, and what the plan derives from the stack. */
interface PhaseInputs {
  facts: DeployFacts;
  options: DeployOptions;
  firstDeploy: boolean;
  infrastructure: string[];
  rollout: RolloutStep[];
  nginx: string | undefined;
  pull: string[];
}

type PhaseText = (c: Catalogue, p: PhaseInputs) => Omit<PlannedPhase, "name">;

/** Each phase's line and, when it will not run, why, in a catalogue's language (English for the plan's data). */
const PHASE_TEXTS: { readonly [N in PhaseName]: PhaseText } = {
  preflight: (c) => ({ does: c.deploy.plan.preflight }),
  "pre-deploy hook": (c, { facts }) => ({
    does: c.deploy.plan.preDeployHook,
    ...(facts.hooks.includes("pre-deploy") ? {} : { skip: c.deploy.plan.noPreDeployHook }),
  }),
  tls: (c, { facts, options }) => ({
    does: facts.tls
      ? describeTlsPlan(c === EN ? facts.tls : shownTlsPlan(facts.tls), c)
      : c.deploy.plan.tlsNoPlan({ domain: facts.domain ?? "DOMAIN" }),
    ...(options.skipSsl || !facts.tls ? { skip: "--skip-ssl" } : {}),
  }),
  images: (c, { facts, pull }) => ({
    does: c.deploy.plan.images({ pull: pull.join(", "), build: facts.build.join(", ") }),
    ...(pull.length || facts.build.length ? {} : { skip: c.deploy.plan.imagesHere({ ref: `${facts.image}:${facts.tag}` }) }),
  }),
  infrastructure: (c, { infrastructure }) => ({ does: c.deploy.plan.infrastructure({ services: infrastructure.join(", ") }) }),
  backup: (c, { facts, options }) => ({
    does: c.deploy.plan.backup({ components: facts.backupComponents.join(", ") }),
    ...(options.skipBackup ? { skip: "--skip-backup" } : facts.dataRunning ? {} : { skip: c.deploy.plan.noData }),
  }),
  migrations: (c, { facts, options }) => ({
    does: c.deploy.plan.migrations({ ref: `${facts.image}:${facts.tag}` }),
    ...(options.skipMigrations ? { skip: options.kind === "deploy" ? "--skip-migrations" : c.deploy.plan.neverDowngrades } : {}),
  }),
  "release config": (c, { facts }) => ({
    does: c.deploy.plan.releaseConfig({ tag: facts.tag }),
    ...(facts.currentTag === facts.tag ? { skip: c.deploy.plan.releaseConfigSame({ tag: facts.tag }) } : {}),
  }),
  nginx: (c, { firstDeploy, nginx }) => ({
    does: firstDeploy ? c.deploy.plan.nginxFirst : c.deploy.plan.nginxUpdate,
    ...(nginx ? {} : { skip: c.deploy.plan.noNginx }),
  }),
  rollout: (c, { rollout }) => ({
    does: c.deploy.plan.rollout({ steps: rollout }),
    ...(rollout.length ? {} : { skip: c.deploy.plan.noRollout }),
  }),
  health: (c, { facts, options }) => ({
    does: c.deploy.plan.health({ tag: facts.tag }),
    ...(options.skipHealthCheck ? { skip: "--skip-health-check" } : {}),
  }),
  ledger: (c, { facts, options }) => ({
    does:
      options.kind === "deploy"
        ? c.deploy.plan.ledgerDeploy({ tag: facts.tag, id: facts.releaseId })
        : c.deploy.plan.ledgerBack({ tag: facts.tag, id: facts.releaseId }),
  }),
  "prune images": (c, { facts }) => ({ does: c.deploy.plan.pruneImages({ image: facts.image }) }),
  "post-deploy hook": (c, { facts }) => ({
    does: c.deploy.plan.postDeployHook,
    ...(facts.hooks.includes("post-deploy") ? {} : { skip: c.deploy.plan.noPostDeployHook }),
  }),
};

/** Pure: the order a deploy runs its phases in. A running nginx is updated before the switch; a first deploy starts it after the backend. */
export function phaseOrder(firstDeploy: boolean): PhaseName[] {
  return firstDeploy ? PHASES.filter((n) => n !== "nginx").flatMap((n) => (n === "rollout" ? ["rollout", "nginx"] : [n])) : [...PHASES];
}

/** Once health has passed the release is committed: these phases only warn when they fail. */
const COMMITTED: ReadonlySet<PhaseName> = new Set(["ledger", "prune images", "post-deploy hook"]);

/**
 * Pure: the plan's phases as the apply walks them, in the plan's order: preflight has run
 * before (prepareDeploy, before the confirmation); then the changes, where a failure rolls the
 * release back; then, committed, the ones that only warn.
 */
export function applyOrder(plan: DeployPlan): { changes: AppliedPhase[]; committed: AppliedPhase[] } {
  const names = plan.phases.map((p) => p.name).filter((n): n is AppliedPhase => n !== "preflight");
  return { changes: names.filter((n) => !COMMITTED.has(n)), committed: names.filter((n) => COMMITTED.has(n)) };
}

/** What the plan derives from the stack and the facts, before any text. */
function phaseInputs(stack: StackModel, facts: DeployFacts, options: DeployOptions): PhaseInputs {
  const rollout = rolloutSteps(stack);
  const app = new Set(rollout.map((s) => s.service));
  const nginx = stack.services.find((s) => s.role === "nginx")?.name;
  return {
    facts,
    options,
    firstDeploy: !facts.backendRunning,
    infrastructure: stack.services.map((s) => s.name).filter((n) => !app.has(n) && n !== nginx),
    rollout,
    nginx,
    pull: facts.missing.filter((ref) => !facts.build.length || !ref.startsWith(`${facts.image}:`)),
  };
}

/** The phases' texts in a language: English for the plan's data, the operator's for the screen. */
const phaseTexts = (c: Catalogue, p: PhaseInputs, order: readonly PhaseName[]): PlannedPhase[] =>
  order.map((name) => ({ name, ...PHASE_TEXTS[name](c, p) }));

/** Pure: the plan of one deploy. */
export function planDeploy(stack: StackModel, facts: DeployFacts, options: DeployOptions): DeployPlan {
  const p = phaseInputs(stack, facts, options);
  const order = phaseOrder(p.firstDeploy);
  const plan: DeployPlan = {
    kind: options.kind,
    releaseId: facts.releaseId,
    image: facts.image,
    tag: facts.tag,
    currentTag: facts.currentTag,
    previous: facts.previous,
    firstDeploy: p.firstDeploy,
    infrastructure: p.infrastructure,
    rollout: p.rollout,
    nginx: p.nginx,
    pull: p.pull,
    build: facts.build,
    runningTag: facts.runningTag,
    tls: facts.tls,
    backupComponents: facts.backupComponents,
    options,
    phases: phaseTexts(EN, p, order),
  };
  const here = catalogue();
  if (here !== EN) SHOWN.set(plan, phaseTexts(here, p, order));
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
