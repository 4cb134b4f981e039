/**
 * What each phase of a deploy does: PHASE_STEPS holds one step per phase of PHASES (plan.ts),
 * all but preflight (prepare.ts runs it before the confirmation). The plan decides the order
 * and which phases are skipped; applyDeploy (apply.ts) walks the plan's phases through this
 * table. Every step reads and fills the same DeployRun: what the failure path needs (the
 * rollout's steps, the pre-deploy backup, the migration heads) is there as soon as it exists.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ComponentName } from "../backup/manifest.ts";
import { recoverDeadSwaps } from "../backup/recover.ts";
import { NEEDS } from "../backup/registry.ts";
import { runBackup } from "../backup/run.ts";
import { pruneSnapshots } from "../backup/store.ts";
import { PreconditionError, ServiceUnhealthyError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { MINUTE_MS, SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { applyMigrations, MigrationFailedError } from "../migrate/apply.ts";
import { squawkBinary } from "../migrate/lint.ts";
import { setEnvValue } from "../project/env.ts";
import { composeVariable, type Project } from "../project/project.ts";
import { findByRole, interpolate } from "../project/stack.ts";
import { containersOf, diagnose, readinessBudgetMs } from "./containers.ts";
import { ensureFlowerAuth, flowerCredentials } from "./flower-auth.ts";
import { buildServices, describeImage, pruneReleaseImages, pullImage } from "./images.ts";
import { type LedgerLine, type PhaseTiming, readLedger, shortHash } from "./ledger.ts";
import type { AppliedPhase, DeployPlan } from "./plan.ts";
import type { HookName } from "./preflight.ts";
import { expectVersion, type RolloutStep, rollOut, type StepResult } from "./rollout.ts";
import { roleRunning } from "./running.ts";
import { tlsPhase } from "./tls-phase.ts";

/** One deploy under way: what its phases read, and what they leave for the ones after and for the failure path. */
export interface DeployRun {
  project: Project;
  out: Output;
  plan: DeployPlan;
  /** Compose with the release's CLAW_AI_TAG. */
  compose: ComposeClient;
  /** When the deploy started, preflight included (epoch ms). */
  started: number;
  /** Each phase's timing, as it ends: the summary, and the ledger's record. */
  phases: PhaseTiming[];
  /** Appends a line about this release to the ledger. */
  record: (line: Omit<LedgerLine, "id">) => void;
  /** What the hooks are told: CLAW_RELEASE_ID, CLAW_RELEASE_TAG, … */
  hookEnv: Record<string, string>;
  /** The pre-deploy backup's directory, relative to the project, once taken. */
  backupDir: string | null;
  /** The migration head before the migrations and where they left it. */
  migration: { before: string | null; after: string | null };
  /** The rollout steps begun (a failure rolls each back), and the results of those that ended. */
  rolled: RolloutStep[];
  results: StepResult[];
}

type PhaseStep = (r: DeployRun) => Promise<void>;

/** Each phase's step, by name; the type holds it to every phase of PHASES but preflight. */
export const PHASE_STEPS: { readonly [N in AppliedPhase]: PhaseStep } = {
  "pre-deploy hook": (r) => runHook(r.project.root, "pre-deploy", r.hookEnv, r.out),
  tls: async (r) => {
    await tlsPhase(r.project, r.out, r.plan.tls!, { nginxService: r.plan.nginx });
  },
  images: (r) => images(r.compose, r.plan, r.out),
  infrastructure: (r) => infrastructure(r.project, r.compose, r.plan, r.out),
  // After the infrastructure: a stack found stopped with data in its volumes is backed up too.
  backup: async (r) => {
    r.backupDir = relative(r.project.root, await preDeployBackup(r.project, r.out, r.plan.backupComponents));
    r.record({ preDeployBackup: r.backupDir });
  },
  migrations: (r) =>
    migrations(r.project, r.compose, r.out, r.migration).finally(() => r.record({ migrationHead: r.migration.after ?? r.migration.before })),
  "release config": async (r) => setEnvValue(r.project.envFile, "CLAW_AI_TAG", r.plan.tag),
  // A running nginx is brought up to date before the rollout (a new mount, a changed config): it
  // must read live/backend.conf before the switch. A first deploy starts it after the backend.
  nginx: (r) => nginxUp(r.project, r.compose, r.plan, r.out),
  rollout: async (r) => {
    for (const step of r.plan.rollout) {
      // Registered before it runs: a step that fails half way is rolled back too (steps are idempotent).
      r.rolled.push(step);
      r.results.push(await rollOut(rolloutContext(r.project, r.compose, r.out, r.plan, r.plan.tag, r.plan.releaseId), step));
    }
  },
  health: (r) => health(r.project, r.compose, r.plan, r.out),
  ledger: recordRelease,
  "prune images": pruneOld,
  "post-deploy hook": (r) => runHook(r.project.root, "post-deploy", r.hookEnv, r.out),
};

export function rolloutContext(project: Project, compose: ComposeClient, out: Output, plan: DeployPlan, version: string, releaseId: string) {
  return { root: project.root, project, stack: project.stack, compose, out, version, releaseId, imageRef: `${plan.image}:${version}` };
}

async function runHook(root: string, name: HookName, env: Record<string, string>, out: Output): Promise<void> {
  const file = join(root, "hooks", name);
  const r = await out.step(`hooks/${name}`, () => run({ argv: [file], env }, { cwd: root, allowFailure: true, timeoutMs: 30 * MINUTE_MS }));
  if (r.stdout.trim()) for (const l of r.stdout.trim().split("\n").slice(-20)) out.info(`  ${name}: ${l}`);
  if (r.status !== 0)
    throw new PreconditionError(
      msg.deploy.run.hookFailed({ hook: name, status: r.status, last: lastLine(r.stderr || r.stdout) }),
      msg.deploy.run.hookFailedHint,
    );
}

/** A backup of `wanted` (those whose services run), tier pre-deploy; returns its directory. */
async function preDeployBackup(project: Project, out: Output, wanted: readonly ComponentName[]): Promise<string> {
  const runningRole = await roleRunning(project);
  const components = wanted.filter((c) => NEEDS[c].every(runningRole));
  const skipped = wanted.filter((c) => !components.includes(c));
  if (skipped.length) out.warn(msg.deploy.run.backupWithout({ list: skipped.join(", ") }));
  const r = await runBackup(project, out, { components, tier: "pre-deploy" });
  out.success(msg.deploy.run.backupDone({ id: r.id, components: components.join(", ") }));
  // Pruned only once the deploy succeeded: a failed one's backup is the one to go back to.
  return r.dir;
}

async function images(compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  for (const ref of plan.pull)
    await out.step(
      localized((t) => t.deploy.run.pullStep({ ref })),
      () => pullImage(ref, { onRetry: (m) => out.warn(m) }),
    );
  if (plan.build.length)
    await out.step(
      localized((t) => t.deploy.run.buildStep({ services: plan.build.join(", ") })),
      () => buildServices(compose, plan.build),
    );
}

/** The services that are not the app, up and ready (bounded); on timeout the evidence is shown. */
async function infrastructure(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  const services = plan.infrastructure;
  // A restore that died mid-swap left a volume half-moved: put it back before anything starts
  // a service on it (Redis would write a fresh, empty dataset there, and the backup keep it).
  await recoverDeadSwaps(project, out);
  await out.step(
    localized((t) => t.deploy.run.infraUpStep({ n: services.length })),
    () => compose.up({ services }, 10 * MINUTE_MS),
  );
  await out.step(
    localized((t) => t.deploy.run.infraHealthyStep),
    () => ready(project, compose, services, out),
  );
  // Postgres' half swap is put back once it runs (a no-op when nothing was left).
  await recoverDeadSwaps(project, out);
}

/** Every running service with a healthcheck passes it (our 0.5 s probe), within its own budget. */
async function ready(project: Project, compose: ComposeClient, services: readonly string[], out: Output): Promise<void> {
  const models = project.stack.services.filter((s) => services.includes(s.name));
  const budget = Math.max(...models.map((s) => readinessBudgetMs(s)), 30 * SECOND_MS);
  // What is known ready (Docker's last check passed, or the rollout's own probe) is not probed again.
  const known = await compose.knownReady();
  const probes = models
    .filter((s) => !known.has(s.name))
    .map((s) => [s.name, compose.healthcheck(s.name)] as const)
    .filter((p): p is readonly [string, string[]] => !!p[1]);
  try {
    await compose.waitReady(probes, budget);
  } catch (e) {
    const name = e instanceof ServiceUnhealthyError ? e.service : undefined;
    const c = name ? (await containersOf(compose, name))[0] : undefined;
    if (c) for (const l of await diagnose(c.id)) out.warn(l);
    throw e;
  }
  const states = await compose.ps({ all: true, services });
  const down = services.filter((s) => !states.some((c) => c.service === s && c.state === "running"));
  if (down.length)
    throw new ServiceUnhealthyError(msg.deploy.run.notRunning({ list: down.join(", ") }), msg.deploy.rollout.composeLogsHint({ service: down[0]! }));
}

/**
 * The migrate engine (lib/migrate) in one-off containers of the NEW image: advisory lock,
 * lint (MIGRATE_LINT=strict blocks here, before the rollout), timeouts, one revision at a
 * time. No backup of its own: the pre-deploy backup is the one to go back to.
 */
async function migrations(
  project: Project,
  compose: ComposeClient,
  out: Output,
  into: { before: string | null; after: string | null },
): Promise<void> {
  try {
    const r = await applyMigrations(project, out, { skipBackup: true, dryRun: false, squawk: squawkBinary(), compose });
    into.before = r.from;
    into.after = r.current;
  } catch (e) {
    // The revision before and where a failed run left the database: what the failure path needs.
    if (e instanceof MigrationFailedError) {
      into.before = e.from;
      into.after = e.current;
    }
    throw e;
  }
}

async function nginxUp(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  if (!plan.nginx) return;
  // Before nginx starts: a bind-mount source that is missing would become a directory.
  const declared = findByRole(project.stack, "nginx")?.image;
  const image = declared && interpolate(declared, (k) => composeVariable(project, k));
  const auth = image
    ? await out.step(
        localized((c) => c.deploy.flowerAuth.step),
        () => ensureFlowerAuth(project.root, flowerCredentials(project), image),
      )
    : undefined;
  if (auth?.dropped.length) out.warn(msg.deploy.flowerAuth.dropped({ users: auth.dropped.join(", ") }));
  await compose.up({ services: [plan.nginx], noDeps: true, ...(auth?.outcome === "replaced-directory" ? { forceRecreate: true } : {}) });
  await ready(project, compose, [plan.nginx], out);
}

async function health(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  await out.step(
    localized((t) => t.deploy.run.allHealthyStep),
    () =>
      ready(
        project,
        compose,
        project.stack.services.map((s) => s.name),
        out,
      ),
  );
  if (!plan.nginx) return;
  // One attempt: by now the switch has been verified; this proves it still holds.
  await out.step(
    localized((t) => t.deploy.rollout.healthReportsStep({ version: plan.tag })),
    () => expectVersion(compose, plan.nginx!, plan.tag, 0),
  );
}

/** The release succeeded: its record in the ledger, with the timings of every phase so far. */
async function recordRelease(r: DeployRun): Promise<void> {
  const backend = r.results.find((s) => s.strategy === "switch")?.containers[0];
  const finished = Date.now();
  r.record({
    result: "succeeded",
    phase: "done",
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - r.started,
    configHashes: configHashes(r.project),
    ...(await describeImage(`${r.plan.image}:${r.plan.tag}`)),
    ...(backend ? { backendContainer: backend } : {}),
    phases: r.phases,
  });
}

function configHashes(project: Project): Record<string, string> {
  const files = [...project.composeFiles, join(project.root, "nginx/nginx.conf"), project.envFile];
  return Object.fromEntries(files.filter((f) => existsSync(f)).map((f) => [relative(project.root, f), shortHash(readFileSync(f))]));
}

/** Older pre-deploy backups (the snapshot policy) and the image tags of releases no longer kept. */
async function pruneOld({ project, out, plan }: DeployRun): Promise<void> {
  const root = project.root;
  const pruned = pruneSnapshots(root, project.config.snapshotRetention(), new Date(), ["pre-deploy"], (m) => out.warn(m));
  if (pruned.length) out.info(msg.deploy.run.backupsPruned({ list: pruned.join(", ") }));
  const removed = await pruneReleaseImages(
    readLedger(root).releases,
    plan.image,
    project.config.deploy.keepReleases,
    [plan.tag, plan.currentTag],
    (m) => out.warn(m),
  );
  if (removed.length) out.info(msg.deploy.run.imagesRemoved({ list: removed.join(", ") }));
}
