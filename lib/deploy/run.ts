/**
 * A deploy, in named phases that read top to bottom (PHASES in plan.ts), under the lock the
 * caller takes first: preflight (nothing changed yet) → ledger "started" → pre-deploy hook →
 * TLS → images → infrastructure → backup → migrations → release config → nginx → rollout (a
 * first deploy: rollout, then nginx) → health → ledger → prune images → post-deploy hook →
 * webhook. A failure once the rollout has changed anything rolls every app service back to
 * the release that served before (containers, nginx, .env.prod); the database only on request
 * (its pre-deploy backup is named in the output).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import type { ComponentName } from "../backup/manifest.ts";
import { recoverDeadSwaps } from "../backup/recover.ts";
import { NEEDS } from "../backup/registry.ts";
import { runBackup } from "../backup/run.ts";
import { pruneSnapshots } from "../backup/store.ts";
import * as d from "../commands/docker.ts";
import { FailedWithResult, PreconditionError, ServiceUnhealthyError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { type Catalogue, catalogue, displayWidth, localized, msg, padCells, padCellsStart } from "../core/i18n/index.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse, isInteractive } from "../core/prompts.ts";
import { redact } from "../core/secret.ts";
import { MINUTE_MS, SECOND_MS } from "../core/time.ts";
import { formatBackupId } from "../core/vocabulary/backup-id.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { notify } from "../infra/notify.ts";
import { applyMigrations, MigrationFailedError, restoreCommand } from "../migrate/apply.ts";
import { squawkBinary } from "../migrate/lint.ts";
import { setEnvValue } from "../project/env.ts";
import { composeVariable, type Project } from "../project/project.ts";
import { releaseOf, splitImageRef } from "../project/release.ts";
import { servingTarget } from "../project/serving.ts";
import { findByRole, interpolate, serviceByRole } from "../project/stack.ts";
import { restoreFlow } from "../restore/flow.ts";
import { containersOf, diagnose, readinessBudgetMs } from "./containers.ts";
import { ensureFlowerAuth, flowerCredentials } from "./flower-auth.ts";
import { buildServices, describeImage, pruneReleaseImages, pullImage } from "./images.ts";
import { appendLedger, currentRelease, type LedgerLine, type PhaseTiming, type ReleaseRecord, readLedger, unfinishedRelease } from "./ledger.ts";
import { type DeployFacts, type DeployOptions, type DeployPlan, type PhaseName, phasesShown, planDeploy } from "./plan.ts";
import { checkComposeConfig, checkDisk, checkHooks, checkPorts, checkPullable, type HookName, missingImages } from "./preflight.ts";
import { expectVersion, type RolloutStep, rollOut, type StepResult } from "./rollout.ts";
import type { TlsPlan } from "./tls.ts";
import { tlsPhase, tlsPlanFor } from "./tls-phase.ts";
import { domainResolution } from "./tls-probe.ts";

const EN = catalogue("en");

export interface DeployRequest extends DeployOptions {
  tag: string;
  /** --check-dns: refuse unless the domain resolves only to this host. */
  checkDns?: boolean;
  dryRun: boolean;
  yes: boolean;
  /** For a rollback-release: the release gone back to. */
  target?: ReleaseRecord;
}

export interface DeployOutcome {
  ok: boolean;
  releaseId: string;
  tag: string;
  /** The release that serves when the run ends, and how it came to. */
  serving: { tag: string; releaseId?: string | undefined };
  result: ReleaseRecord["result"];
  phases: PhaseTiming[];
  rolledBack?: boolean;
  preDeployBackup?: string | null;
  migrationHead?: string | null;
  error?: string;
  next?: string;
  durationMs: number;
}

/** Pure: a release id: the time (as backup ids), unique in the ledger. */
export function newReleaseId(now: Date, taken: ReadonlySet<string>): string {
  const base = formatBackupId(now);
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  return id;
}

/** Pure: the first 16 hex of a sha256, for the ledger's config hashes. */
export const shortHash = (data: string | Buffer) => createHash("sha256").update(data).digest("hex").slice(0, 16);

function configHashes(project: Project): Record<string, string> {
  const files = [...project.composeFiles, join(project.root, "nginx/nginx.conf"), project.envFile];
  return Object.fromEntries(files.filter((f) => existsSync(f)).map((f) => [relative(project.root, f), shortHash(readFileSync(f))]));
}

const appImageOf = (project: Project) => releaseOf(project).image;

/** Whether every service of a role runs, from one `compose ps`. */
async function roleRunning(project: Project): Promise<(role: string) => boolean> {
  const states = await project.compose.ps({ all: true });
  return (role) =>
    project.stack.services.filter((s) => s.role === role).every((s) => states.some((c) => c.service === s.name && c.state === "running"));
}

/** The backend container that serves (the one nginx names, else the first running), with the image reference it runs. */
async function servingContainer(project: Project): Promise<{ name: string; image: string; running: number } | undefined> {
  const backend = serviceByRole(project.stack, "backend");
  const running = (await containersOf(project.compose, backend.name)).filter((c) => c.state === "running");
  const target = servingTarget(project.root)?.host;
  const serving = running.find((c) => c.name === target) ?? running[0];
  if (!serving) return undefined;
  const image = (await run({ argv: d.dockerConfigImage(serving.id) }, { allowFailure: true })).stdout.trim();
  return { name: serving.name, image, running: running.length };
}

/** What runs now, for the plan (reads only). */
async function facts(project: Project, req: DeployRequest, releaseId: string, hooks: HookName[], tls: TlsPlan | undefined): Promise<DeployFacts> {
  const { releases } = readLedger(project.root);
  const current = currentRelease(releases);
  const image = appImageOf(project);
  const running = await roleRunning(project);
  const withTag = (x: string) => interpolate(x, (k) => (k === "CLAW_AI_TAG" ? req.tag : composeVariable(project, k)));
  const refs = project.stack.services.filter((s) => s.image && !s.build).map((s) => withTag(s.image!));
  const serving = await servingContainer(project);
  return {
    releaseId,
    image,
    tag: req.tag,
    currentTag: project.config.release.tag ?? "",
    previous: current ? { id: current.id, tag: current.tag } : undefined,
    dataRunning: running("postgres") || (await postgresVolumeExists(project)),
    backendRunning: serving !== undefined,
    runningTag: serving?.image ? splitImageRef(serving.image).tag : undefined,
    tls,
    backupComponents: project.config.deploy.backupComponents,
    missing: await missingImages(refs),
    build: project.stack.services.filter((s) => s.build).map((s) => s.name),
    hooks,
    domain: project.config.deploy.domain,
  };
}

/** Whether Postgres' named volume exists (a stack found stopped still has data to back up). */
async function postgresVolumeExists(project: Project): Promise<boolean> {
  const pg = serviceByRole(project.stack, "postgres");
  const vol = pg.volumes.find((v) => v.type === "volume");
  if (!vol) return false;
  return (await run({ argv: d.dockerVolumeInspect(`${project.effectiveName}_${vol.source}`) }, { allowFailure: true })).status === 0;
}

/** --check-dns: the only outside lookup a deploy makes, and only when asked. */
async function checkDns(domain: string | undefined): Promise<void> {
  if (!domain) throw new PreconditionError(msg.deploy.run.checkDnsEmpty, msg.deploy.run.checkDnsEmptyHint);
  const r = await domainResolution(domain);
  if (!r.here) {
    throw new PreconditionError(
      r.resolved.length ? msg.deploy.run.checkDnsElsewhere({ domain, addresses: r.resolved.join(", ") }) : msg.deploy.run.checkDnsNone({ domain }),
      msg.deploy.run.checkDnsHint,
    );
  }
}

/** Preflight (read-only: nothing changes) and the plan; a deploy runs it under its lock, a dry run without one. */
export async function prepareDeploy(project: Project, out: Output, req: DeployRequest, releaseId: string) {
  const t0 = Date.now();
  const compose = project.compose.withEnv({ CLAW_AI_TAG: req.tag });
  const hooks = await out.step(
    localized((t) => t.deploy.run.preflightStep),
    async () => {
      await checkComposeConfig(compose);
      await checkDisk(project, project.config.deploy.minFreeMb);
      await checkPorts(project);
      if (req.checkDns) await checkDns(project.config.deploy.domain);
      return checkHooks(project.root);
    },
  );
  const nginx = findByRole(project.stack, "nginx")?.name;
  // The TLS decision is made here, so its refusals (no domain, no DEPLOY_EMAIL) come before any change.
  const tls = req.skipSsl ? undefined : (await tlsPlanFor(project, nginx)).plan;
  const plan = planDeploy(project.stack, await facts(project, req, releaseId, hooks, tls), req);
  await checkPullable(plan.pull);
  if (req.kind !== "deploy" && plan.pull.some((r) => r.startsWith(`${plan.image}:`))) {
    out.warn(msg.deploy.run.imageGone({ tag: req.tag }));
  }
  return { plan, compose, preflightMs: Date.now() - t0 };
}

/**
 * The deploy itself, under the lock the caller holds. Returns the outcome; a failed deploy
 * throws after the ledger, the webhook and the rollback are done. Once health has passed the
 * release is committed: what follows (ledger, pruning, post-deploy hook) only warns.
 */
export async function applyDeploy(
  project: Project,
  out: Output,
  plan: DeployPlan,
  compose: ComposeClient,
  lock: Lock,
  preflightMs = 0,
): Promise<DeployOutcome> {
  const started = Date.now() - preflightMs;
  const root = project.root;
  const phases: PhaseTiming[] = [{ name: "preflight", ms: preflightMs, result: "ok" }];
  const record = (line: Omit<LedgerLine, "id">) => appendLedger(root, { id: plan.releaseId, ...line });
  const previousTag = plan.runningTag;
  record({
    kind: plan.kind,
    tag: plan.tag,
    image: plan.image,
    startedAt: new Date(started).toISOString(),
    result: "started",
    previous: plan.previous?.id ?? null,
    previousTag: previousTag ?? null,
  });
  const phase = phaseRunner(plan, phases, out, (name) => record({ phase: name }));
  const hookEnv = {
    CLAW_RELEASE_ID: plan.releaseId,
    CLAW_RELEASE_TAG: plan.tag,
    CLAW_RELEASE_IMAGE: plan.image,
    CLAW_PREVIOUS_TAG: previousTag ?? "",
    CLAW_DEPLOY_KIND: plan.kind,
    CLAW_PROJECT_DIR: root,
  };
  let backupDir: string | null = null;
  const migration: { before: string | null; after: string | null } = { before: null, after: null };
  const rolled: RolloutStep[] = [];
  const results: StepResult[] = [];
  try {
    await phase("pre-deploy hook", () => runHook(root, "pre-deploy", hookEnv, out));
    await phase("tls", () => tlsPhase(project, out, plan.tls!, { nginxService: plan.nginx }));
    await phase("images", () => images(compose, plan, out));
    await phase("infrastructure", () => infrastructure(project, compose, plan, out));
    // After the infrastructure: a stack found stopped with data in its volumes is backed up too.
    const backup = await phase("backup", () => preDeployBackup(project, out, plan.backupComponents));
    if (backup) {
      backupDir = relative(root, backup);
      record({ preDeployBackup: backupDir });
    }
    await phase("migrations", () =>
      migrations(project, compose, out, migration).finally(() => record({ migrationHead: migration.after ?? migration.before })),
    );
    await phase("release config", async () => setEnvValue(project.envFile, "CLAW_AI_TAG", plan.tag));
    // A running nginx is brought up to date first (a new mount, a changed config): it must
    // read live/backend.conf before the switch. A first deploy starts it after the backend.
    if (!plan.firstDeploy) await phase("nginx", () => nginxUp(project, compose, plan, out));
    await phase("rollout", async () => {
      for (const step of plan.rollout) {
        // Registered before it runs: a step that fails half way is rolled back too (steps are idempotent).
        rolled.push(step);
        results.push(await rollOut(rolloutContext(project, compose, out, plan, plan.tag, plan.releaseId), step));
      }
    });
    if (plan.firstDeploy) await phase("nginx", () => nginxUp(project, compose, plan, out));
    await phase("health", () => health(project, compose, plan, out));
  } catch (e) {
    return failed(project, out, plan, lock, { e, started, phases, rolled, backupDir, migration, record });
  }
  // Committed: the new release serves and passed its checks.
  const backend = results.find((r) => r.strategy === "switch")?.containers[0];
  const finished = Date.now();
  const after = async (name: PhaseName, fn: () => Promise<unknown>) =>
    phase(name, fn).catch((e: Error) => out.warn(msg.deploy.run.afterFailed({ phase: name, reason: e.message })));
  await after("ledger", async () =>
    record({
      result: "succeeded",
      phase: "done",
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      configHashes: configHashes(project),
      ...(await describeImage(`${plan.image}:${plan.tag}`)),
      ...(backend ? { backendContainer: backend } : {}),
      phases,
    }),
  );
  await after("prune images", async () => {
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
  });
  await after("post-deploy hook", () => runHook(root, "post-deploy", hookEnv, out));
  const outcome: DeployOutcome = {
    ok: true,
    releaseId: plan.releaseId,
    tag: plan.tag,
    serving: { tag: plan.tag, releaseId: plan.releaseId },
    result: "succeeded",
    phases,
    preDeployBackup: backupDir,
    migrationHead: migration.after,
    durationMs: Date.now() - started,
  };
  await say(project, out, plan, "success", outcome);
  return outcome;
}

type Phase = <T>(name: PhaseName, fn: () => Promise<T>) => Promise<T | undefined>;

/** Runs a named phase (or records why the plan skips it), timing it into `phases`. */
function phaseRunner(plan: DeployPlan, phases: PhaseTiming[], out: Output, started: (name: PhaseName) => void): Phase {
  return async (name, fn) => {
    const why = plan.phases.find((p) => p.name === name)?.skip;
    if (why) {
      // The ledger's note in English, the screen's line in the operator's language.
      phases.push({ name, ms: 0, result: "skipped", note: why });
      out.info(msg.deploy.run.phaseSkipped({ phase: name, why: phasesShown(plan).find((p) => p.name === name)?.skip ?? why }));
      return undefined;
    }
    started(name);
    const t0 = Date.now();
    try {
      const r = await fn();
      phases.push({ name, ms: Date.now() - t0, result: "ok" });
      return r;
    } catch (e) {
      phases.push({ name, ms: Date.now() - t0, result: "failed", note: redact((e as Error).message) });
      throw e;
    }
  };
}

/**
 * A failed deploy: every service the rollout touched goes back to the release that served,
 * .env.prod names what serves, the ledger gets the result before anything may prompt, and the
 * output says what serves and what to run next.
 */
async function failed(
  project: Project,
  out: Output,
  plan: DeployPlan,
  lock: Lock,
  f: {
    e: unknown;
    started: number;
    phases: PhaseTiming[];
    rolled: readonly RolloutStep[];
    backupDir: string | null;
    migration: { before: string | null; after: string | null };
    record: (line: Omit<LedgerLine, "id">) => void;
  },
): Promise<never> {
  const err = f.e as Error;
  out.error(msg.deploy.run.deployFailed({ tag: plan.tag, reason: err.message }));
  const previousTag = plan.runningTag;
  let rolledBack = false;
  let changedBack = false;
  if (f.rolled.length && previousTag) ({ ok: rolledBack, changed: changedBack } = await autoRollback(project, out, plan, previousTag, f.rolled));
  // .env.prod names the release that serves, whoever wrote the new tag there.
  if (previousTag && (!f.rolled.length || rolledBack)) {
    setEnvValue(project.envFile, "CLAW_AI_TAG", previousTag);
    out.info(msg.deploy.run.envReset({ tag: previousTag }));
  }
  // What serves and what to run next: English in the outcome (--json), the operator's language on screen.
  const servingNow = await servingContainer(project);
  const serving = describeServing(servingNow, EN);
  // "rolled-back": services had moved and were put back; a release that never served just "failed".
  const result = rolledBack && changedBack ? "rolled-back" : "failed";
  f.record({ result, finishedAt: new Date().toISOString(), durationMs: Date.now() - f.started, error: redact(err.message), phases: f.phases });
  const nextIn = (c: Catalogue) =>
    rolledBack
      ? c.deploy.run.nextRolledBack({ tag: plan.tag })
      : f.rolled.length
        ? c.deploy.run.nextStatus({ previous: plan.previous?.id })
        : c.deploy.run.nextUnchanged({ tag: plan.tag });
  const next = nextIn(EN);
  out.info(msg.deploy.run.servingNow({ serving: describeServing(servingNow, catalogue()) }));
  const dbAdvice = await databaseAfterFailure(project, out, plan, lock, {
    backupDir: f.backupDir,
    headBefore: f.migration.before,
    head: f.migration.after,
  });
  for (const l of dbAdvice) out.warn(l);
  out.info(msg.deploy.run.next({ next: nextIn(catalogue()) }));
  const outcome: DeployOutcome = {
    ok: false,
    releaseId: plan.releaseId,
    tag: plan.tag,
    serving: { tag: serving, releaseId: rolledBack ? plan.previous?.id : undefined },
    result,
    phases: f.phases,
    rolledBack,
    preDeployBackup: f.backupDir,
    migrationHead: f.migration.after,
    error: err.message,
    next,
    durationMs: Date.now() - f.started,
  };
  await say(project, out, plan, "failure", outcome);
  printSummary(out, f.phases, plan);
  // The CLI prints the outcome (one JSON document, also when a database restore ran meanwhile).
  throw new FailedWithResult(f.e, { ...outcome });
}

/** What serves, as a line: nginx's target and the image it runs (read from the stack, not assumed). */
function describeServing(s: Awaited<ReturnType<typeof servingContainer>>, c: Catalogue): string {
  if (!s) return c.deploy.run.servingNothing;
  return c.deploy.run.serving({ tag: s.image ? splitImageRef(s.image).tag : "?", container: s.name, running: s.running });
}

export function rolloutContext(project: Project, compose: ComposeClient, out: Output, plan: DeployPlan, version: string, releaseId: string) {
  return { root: project.root, project, stack: project.stack, compose, out, version, releaseId, imageRef: `${plan.image}:${version}` };
}

/** Roll every service the failed rollout touched back to the previous tag, newest first; every step is tried, errors joined. */
async function autoRollback(
  project: Project,
  out: Output,
  plan: DeployPlan,
  previousTag: string,
  rolled: readonly RolloutStep[],
): Promise<{ ok: boolean; changed: boolean }> {
  const steps = [...rolled].reverse();
  out.warn(msg.deploy.run.rollingBack({ tag: previousTag, services: steps.map((s) => s.service).join(", ") }));
  const back = project.compose.withEnv({ CLAW_AI_TAG: previousTag });
  const errors: Error[] = [];
  let changed = false;
  await out
    .step(
      localized((t) => t.deploy.run.rollbackStep({ tag: previousTag })),
      async () => {
        for (const step of steps) {
          await rollOut(rolloutContext(project, back, out, plan, previousTag, `${plan.releaseId} rollback`), step).then(
            (r) => {
              changed ||= r.changed;
            },
            (e: Error) => {
              errors.push(e);
              out.error(msg.deploy.run.rollbackServiceFailed({ service: step.service, reason: e.message }));
            },
          );
        }
        if (errors.length) throw errors[0];
      },
    )
    .catch(() => undefined);
  return { ok: errors.length === 0, changed };
}

/**
 * When migrations ran and the deploy failed, the schema is the new one. Expand-first
 * migrations leave the old code working; a restore of the pre-deploy backup (which loses every
 * write since) only on --restore-db-on-failure or a yes on a TTY.
 */
async function databaseAfterFailure(
  project: Project,
  out: Output,
  plan: DeployPlan,
  lock: Lock,
  m: { backupDir: string | null; headBefore: string | null; head: string | null },
): Promise<string[]> {
  if (!m.head || m.head === m.headBefore) return [];
  const from = m.headBefore ?? msg.deploy.run.emptyHead;
  if (!m.backupDir) return [msg.deploy.run.migratedNoBackup({ from, to: m.head })];
  const command = restoreCommand(m.backupDir);
  let restore = plan.options.restoreDbOnFailure;
  if (!restore && isInteractive()) {
    restore = await confirmOrRefuse(msg.deploy.run.restoreQuestion({ dir: m.backupDir }), {
      yes: false,
      what: msg.deploy.run.restoreWhat,
    }).then(
      () => true,
      () => false,
    );
  }
  if (!restore) return [msg.deploy.run.migratedRestoreWith({ from, to: m.head, command })];
  try {
    await restoreFlow(project, out, {
      event: "restore",
      dir: join(project.root, m.backupDir),
      components: ["postgres"],
      snapshotTier: "pre-restore",
      identity: undefined,
      dryRun: false,
      yes: true,
      verifyStack: false,
      lock,
    });
    return [msg.deploy.run.databaseRestored({ dir: m.backupDir })];
  } catch (e) {
    return [msg.deploy.run.restoreFailed({ reason: (e as Error).message, command })];
  }
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
  const probes = models.map((s) => [s.name, compose.healthcheck(s.name)] as const).filter((p): p is readonly [string, string[]] => !!p[1]);
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

async function say(project: Project, out: Output, plan: DeployPlan, status: "success" | "failure", o: DeployOutcome): Promise<void> {
  await notify(
    project.config.notify.webhookUrl,
    {
      event: "deploy",
      status,
      host: hostname(),
      release: plan.releaseId,
      tag: plan.tag,
      durationMs: o.durationMs,
      ...(o.error ? { reason: o.error } : {}),
    },
    (m) => out.warn(m),
  );
}

/** The summary table every run ends with: phase, seconds, result. */
export function summaryLines(phases: readonly PhaseTiming[]): string[] {
  const t = msg.deploy.run;
  const w = Math.max(...phases.map((p) => displayWidth(p.name)), displayWidth(t.summaryPhase));
  const sw = Math.max(7, displayWidth(t.summarySeconds));
  return [
    `${padCells(t.summaryPhase, w)}  ${padCellsStart(t.summarySeconds, sw)}  ${t.summaryResult}`,
    ...phases.map(
      (p) =>
        `${padCells(p.name, w)}  ${padCellsStart((p.ms / 1000).toFixed(1), sw)}  ${p.note && p.result !== "ok" ? t.summaryNote({ result: p.result, note: p.note }) : p.result}`,
    ),
  ];
}

/** The summary on screen; with the plan, a skipped phase's reason in the operator's language (the phases' own notes are English). */
export function printSummary(out: Output, phases: readonly PhaseTiming[], plan?: DeployPlan): void {
  const shown = plan ? phasesShown(plan) : [];
  const note = (p: PhaseTiming) => (p.result === "skipped" ? (shown.find((s) => s.name === p.name)?.skip ?? p.note) : p.note);
  for (const l of summaryLines(phases.map((p) => ({ ...p, note: note(p) })))) out.info(l);
}

/** What a deploy that died left: told at the start of the next run (ledger marked interrupted). */
export function reportInterruptedDeploy(root: string, out: Output): ReleaseRecord | undefined {
  const dead = unfinishedRelease(readLedger(root).releases);
  if (dead?.result !== "started") return undefined;
  out.warn(msg.deploy.run.interrupted({ id: dead.id, tag: dead.tag, phase: dead.phase ?? "preflight", previous: dead.previousTag }));
  out.warn(msg.deploy.run.interruptedNext({ canGoBack: !!dead.previousTag }));
  appendLedger(root, { id: dead.id, result: "interrupted", finishedAt: new Date().toISOString() });
  return dead;
}
