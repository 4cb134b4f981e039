/**
 * A deploy, in named phases that read top to bottom: preflight (nothing changed yet) →
 * lock + ledger "started" → pre-deploy hook → backup → TLS → images → infrastructure →
 * migrations → release config → rollout → nginx → health → ledger → prune images →
 * post-deploy hook → webhook. A failure once the rollout has changed anything rolls every app
 * service back to the release that served before (containers, nginx, .env.prod); the
 * database only on request (its pre-deploy backup is named in the output).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import type { ComponentName } from "../backup/manifest.ts";
import { COMPONENTS } from "../backup/manifest.ts";
import { NEEDS } from "../backup/registry.ts";
import { runBackup } from "../backup/run.ts";
import { pruneSnapshotTier } from "../backup/store.ts";
import { curlOnce } from "../commands/http.ts";
import { ClawError, PreconditionError, ServiceUnhealthyError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import type { Lock } from "../core/lock.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse, isInteractive } from "../core/prompts.ts";
import { MINUTE_MS, SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { notify } from "../infra/notify.ts";
import { setEnvValue } from "../project/env.ts";
import type { Project } from "../project/project.ts";
import { releaseOf } from "../project/release.ts";
import { interpolate } from "../project/stack.ts";
import { restoreFlow } from "../restore/flow.ts";
import { containersOf, diagnose, readinessBudgetMs } from "./containers.ts";
import { buildServices, describeImage, pruneReleaseImages, pullImage } from "./images.ts";
import { appendLedger, currentRelease, type LedgerLine, type PhaseTiming, type ReleaseRecord, readLedger, unfinishedRelease } from "./ledger.ts";
import { type DeployOptions, type DeployPlan, type PhaseName, planDeploy } from "./plan.ts";
import { checkComposeConfig, checkDisk, checkHooks, checkPorts, type HookName, missingImages } from "./preflight.ts";
import { type RolloutStep, rollOut, type StepResult } from "./rollout.ts";
import { tlsPhase } from "./tls-phase.ts";

export interface DeployRequest extends DeployOptions {
  tag: string;
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
  const p = (n: number) => String(n).padStart(2, "0");
  const base = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
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

/** What runs now, for the plan. */
async function facts(project: Project, req: DeployRequest, releaseId: string, hooks: HookName[]) {
  const { releases } = readLedger(project.root);
  const current = currentRelease(releases);
  const image = appImageOf(project);
  const states = await project.compose.ps({ all: true });
  const runningRole = (role: string) =>
    project.stack.services.filter((s) => s.role === role).every((s) => states.some((c) => c.service === s.name && c.state === "running"));
  const withTag = (x: string) => interpolate(x, (k) => (k === "CLAW_AI_TAG" ? req.tag : (project.env.get(k) ?? process.env[k])));
  const refs = project.stack.services.filter((s) => s.image && !s.build).map((s) => withTag(s.image!));
  return {
    releaseId,
    image,
    tag: req.tag,
    currentTag: project.env.get("CLAW_AI_TAG") ?? "",
    previous: current ? { id: current.id, tag: current.tag } : undefined,
    dataRunning: runningRole("postgres"),
    backendRunning: states.some((c) => c.service === project.stack.services.find((s) => s.role === "backend")?.name && c.state === "running"),
    missing: await missingImages(refs),
    build: project.stack.services.filter((s) => s.build).map((s) => s.name),
    hooks,
    domain: project.config.deploy.domain,
  };
}

/** Preflight (read-only) and the plan. */
export async function prepareDeploy(project: Project, out: Output, req: DeployRequest, releaseId: string) {
  const t0 = Date.now();
  const compose = project.compose.withEnv({ CLAW_AI_TAG: req.tag });
  const hooks = await out.step("preflight: compose config, disk, ports, hooks, images", async () => {
    await checkComposeConfig(compose);
    await checkDisk(project, project.config.deploy.minFreeMb);
    await checkPorts(project);
    return checkHooks(project.root);
  });
  const plan = planDeploy(project.stack, await facts(project, req, releaseId, hooks), req);
  if (req.kind !== "deploy" && plan.pull.some((r) => r.startsWith(`${plan.image}:`))) {
    out.warn(`the image of release ${req.tag} is no longer on this host: it will be pulled`);
  }
  return { plan, compose, preflightMs: Date.now() - t0 };
}

/**
 * The deploy itself, under the lock the caller holds. Returns the outcome; a failed deploy
 * throws after the ledger, the webhook and the rollback are done.
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
  const previousTag = plan.previous?.tag ?? (plan.firstDeploy ? undefined : plan.currentTag);
  record({
    kind: plan.kind,
    tag: plan.tag,
    image: plan.image,
    startedAt: new Date(started).toISOString(),
    result: "started",
    previous: plan.previous?.id ?? null,
    previousTag: previousTag ?? null,
  });
  const skip = (name: PhaseName) => plan.phases.find((p) => p.name === name)?.skip;
  const phase = async <T>(name: PhaseName, fn: () => Promise<T>): Promise<T | undefined> => {
    const why = skip(name);
    if (why) {
      phases.push({ name, ms: 0, result: "skipped", note: why });
      out.info(`${name}: skipped (${why})`);
      return undefined;
    }
    record({ phase: name });
    const t0 = Date.now();
    try {
      const r = await fn();
      phases.push({ name, ms: Date.now() - t0, result: "ok" });
      return r;
    } catch (e) {
      phases.push({ name, ms: Date.now() - t0, result: "failed", note: (e as Error).message });
      throw e;
    }
  };
  const hookEnv = {
    CLAW_RELEASE_ID: plan.releaseId,
    CLAW_RELEASE_TAG: plan.tag,
    CLAW_RELEASE_IMAGE: plan.image,
    CLAW_PREVIOUS_TAG: previousTag ?? "",
    CLAW_DEPLOY_KIND: plan.kind,
    CLAW_PROJECT_DIR: root,
  };
  let backupDir: string | null = null;
  let head: string | null = null;
  let headBefore: string | null = null;
  const rolled: RolloutStep[] = [];
  let tagWritten = false;
  try {
    await phase("pre-deploy hook", () => runHook(root, "pre-deploy", hookEnv, out));
    const backup = await phase("backup", () => preDeployBackup(project, out));
    if (backup) {
      backupDir = relative(root, backup);
      record({ preDeployBackup: backupDir });
    }
    await phase("tls", () => tlsPhase(project, out, { nginxService: plan.nginx }));
    await phase("images", () => images(compose, plan, out));
    await phase("infrastructure", () => infrastructure(project, compose, plan, out));
    const mig = await phase("migrations", () => migrations(project, compose, out));
    if (mig) {
      headBefore = mig.before;
      head = mig.after;
      record({ migrationHead: head });
    }
    await phase("release config", async () => {
      setEnvValue(project.envFile, "CLAW_AI_TAG", plan.tag);
      tagWritten = true;
    });
    const results: StepResult[] = [];
    await phase("rollout", async () => {
      for (const step of plan.rollout) {
        try {
          results.push(await rollOut(rolloutContext(project, compose, out, plan.tag, plan.releaseId), step));
          rolled.push(step);
        } catch (e) {
          // A switch or overlap that fails removes what it started (the old keeps running); a
          // recreate has stopped the old one already, so it is rolled back too.
          if (step.strategy === "recreate") rolled.push(step);
          throw e;
        }
      }
    });
    await phase("nginx", () => nginxUp(project, compose, plan, out));
    await phase("health", () => health(project, compose, plan, out));
    const backend = results.find((r) => r.strategy === "switch")?.containers[0];
    const finished = Date.now();
    await phase("ledger", async () =>
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
    await phase("prune images", async () => {
      const removed = await pruneReleaseImages(
        readLedger(root).releases,
        plan.image,
        project.config.deploy.keepReleases,
        [plan.tag, plan.currentTag],
        (m) => out.warn(m),
      );
      if (removed.length) out.info(`removed old release images: ${removed.join(", ")}`);
    });
    await phase("post-deploy hook", () =>
      runHook(root, "post-deploy", hookEnv, out).catch((e: Error) => out.warn(`hooks/post-deploy failed (the release serves): ${e.message}`)),
    );
    const outcome: DeployOutcome = {
      ok: true,
      releaseId: plan.releaseId,
      tag: plan.tag,
      serving: { tag: plan.tag, releaseId: plan.releaseId },
      result: "succeeded",
      phases,
      preDeployBackup: backupDir,
      migrationHead: head,
      durationMs: Date.now() - started,
    };
    await say(project, out, plan, "success", outcome);
    return outcome;
  } catch (e) {
    const err = e as Error;
    out.error(`deploy of ${plan.tag} failed: ${err.message}`);
    let serving: DeployOutcome["serving"] = { tag: plan.currentTag };
    let rolledBack = false;
    if (rolled.length && previousTag) {
      rolledBack = await autoRollback(project, out, plan, previousTag, rolled);
      serving = { tag: rolledBack ? previousTag : "unknown (see deploy.mts --status)", releaseId: plan.previous?.id };
    } else if (rolled.length) {
      serving = { tag: `${plan.tag} (partly: there is no earlier release to go back to)` };
    }
    if (tagWritten && rolledBack && previousTag) setEnvValue(project.envFile, "CLAW_AI_TAG", previousTag);
    else if (tagWritten && !rolled.length && previousTag) setEnvValue(project.envFile, "CLAW_AI_TAG", previousTag);
    const dbAdvice = await databaseAfterFailure(project, out, plan, lock, { backupDir, headBefore, head });
    const next = rolledBack
      ? `fix the cause, then deploy again: npx zx scripts/deploy.mts --tag ${plan.tag}`
      : rolled.length
        ? "see npx zx scripts/deploy.mts --status; to go back: npx zx scripts/deploy.mts --rollback-release"
        : `nothing serving was changed; fix the cause and run npx zx scripts/deploy.mts --tag ${plan.tag} again`;
    out.info(`serving now: ${serving.tag}${serving.releaseId ? ` (release ${serving.releaseId})` : ""}`);
    for (const l of dbAdvice) out.warn(l);
    out.info(`next: ${next}`);
    record({
      result: rolledBack ? "rolled-back" : "failed",
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      error: err.message,
      phases,
    });
    const outcome: DeployOutcome = {
      ok: false,
      releaseId: plan.releaseId,
      tag: plan.tag,
      serving,
      result: rolledBack ? "rolled-back" : "failed",
      phases,
      rolledBack,
      preDeployBackup: backupDir,
      migrationHead: head,
      error: err.message,
      next,
      durationMs: Date.now() - started,
    };
    await say(project, out, plan, "failure", outcome);
    printSummary(out, phases);
    out.result(outcome);
    throw e;
  }
}

export function rolloutContext(project: Project, compose: ComposeClient, out: Output, version: string, releaseId: string) {
  return { root: project.root, stack: project.stack, compose, out, version, releaseId };
}

/** Roll the services the failed rollout touched back to the previous tag (newest first). */
async function autoRollback(project: Project, out: Output, plan: DeployPlan, previousTag: string, rolled: readonly RolloutStep[]): Promise<boolean> {
  out.warn(`rolling back automatically to ${previousTag}: ${rolled.map((s) => s.service).join(", ")}`);
  const back = project.compose.withEnv({ CLAW_AI_TAG: previousTag });
  try {
    await out.step(`automatic rollback to ${previousTag}`, async () => {
      for (const step of rolled) await rollOut(rolloutContext(project, back, out, previousTag, `${plan.releaseId} rollback`), step);
    });
    return true;
  } catch (e) {
    out.error(`the automatic rollback failed too: ${(e as Error).message}`);
    return false;
  }
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
  if (!m.backupDir)
    return [`migrations moved the database from ${m.headBefore ?? "empty"} to ${m.head}, and there is no pre-deploy backup to go back to`];
  const command = `npx zx scripts/rollback.mts --backup ${m.backupDir} --skip-redis --skip-milvus --skip-uploads --skip-config -y`;
  let restore = plan.options.restoreDbOnFailure;
  if (!restore && isInteractive()) {
    restore = await confirmOrRefuse(`Restore the database from ${m.backupDir} (writes since the backup are lost)?`, {
      yes: false,
      what: "restore",
    }).then(
      () => true,
      () => false,
    );
  }
  if (!restore)
    return [`migrations moved the database from ${m.headBefore ?? "empty"} to ${m.head}; the old release runs on it. To restore it: ${command}`];
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
    return [`the database was restored from ${m.backupDir}`];
  } catch (e) {
    return [`restoring the database failed: ${(e as Error).message}; retry with: ${command}`];
  }
}

async function runHook(root: string, name: HookName, env: Record<string, string>, out: Output): Promise<void> {
  const file = join(root, "hooks", name);
  const r = await out.step(`hooks/${name}`, () => run({ argv: [file], env }, { cwd: root, allowFailure: true, timeoutMs: 30 * MINUTE_MS }));
  if (r.stdout.trim()) for (const l of r.stdout.trim().split("\n").slice(-20)) out.info(`  ${name}: ${l}`);
  if (r.status !== 0)
    throw new PreconditionError(`hooks/${name} failed (exit ${r.status}): ${lastLine(r.stderr || r.stdout)}`, `fix the hook; nothing was changed`);
}

/** A full backup of what runs, tier pre-deploy; returns its directory. */
async function preDeployBackup(project: Project, out: Output): Promise<string> {
  const states = await project.compose.ps();
  const runningRole = (role: string) =>
    project.stack.services.filter((s) => s.role === role).every((s) => states.some((c) => c.service === s.name && c.state === "running"));
  const components = COMPONENTS.filter((c: ComponentName) => NEEDS[c].every(runningRole));
  const skipped = COMPONENTS.filter((c) => !components.includes(c));
  if (skipped.length) out.warn(`pre-deploy backup without ${skipped.join(", ")}: not running`);
  const r = await runBackup(project, out, { components, tier: "pre-deploy" });
  out.success(`pre-deploy backup ${r.id} (${components.join(", ")})`);
  const pruned = pruneSnapshotTier(project.root, "pre-deploy", project.config.deploy.keepBackups);
  if (pruned.length) out.info(`pre-deploy backups pruned: ${pruned.join(", ")}`);
  return r.dir;
}

async function images(compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  for (const ref of plan.pull) await out.step(`pull ${ref}`, () => pullImage(ref, { onRetry: (m) => out.warn(m) }));
  if (plan.build.length) await out.step(`build ${plan.build.join(", ")}`, () => buildServices(compose, plan.build));
}

/** The services that are not the app, up and ready (bounded); on timeout the evidence is shown. */
async function infrastructure(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  const services = plan.infrastructure;
  await out.step(`up: ${services.length} infrastructure services`, () => compose.up({ services }, 10 * MINUTE_MS));
  await out.step("infrastructure healthy", () => ready(project, compose, services, out));
}

/** Every running service with a healthcheck passes it (our 0.5 s probe), within its own budget. */
async function ready(project: Project, compose: ComposeClient, services: readonly string[], out: Output): Promise<void> {
  const models = project.stack.services.filter((s) => services.includes(s.name));
  const budget = Math.max(...models.map((s) => readinessBudgetMs(s)), 30 * SECOND_MS);
  const probes = models.map((s) => [s.name, compose.healthcheck(s.name)] as const).filter((p): p is readonly [string, string[]] => !!p[1]);
  try {
    await compose.waitReady(probes, budget);
  } catch (e) {
    const name = /service (\S+)/.exec((e as Error).message)?.[1];
    const c = name ? (await containersOf(compose, name))[0] : undefined;
    if (c) for (const l of await diagnose(c.id)) out.warn(l);
    throw e;
  }
  const states = await compose.ps({ all: true, services });
  const down = services.filter((s) => !states.some((c) => c.service === s && c.state === "running"));
  if (down.length) throw new ServiceUnhealthyError(`not running: ${down.join(", ")}`, `see \`docker compose logs ${down[0]}\``);
}

/** `alembic upgrade head` in a one-off container of the new image; the revision before and after. */
async function migrations(project: Project, compose: ComposeClient, out: Output): Promise<{ before: string | null; after: string | null }> {
  const backend = project.stack.services.find((s) => s.role === "backend")!.name;
  const current = async () => {
    const r = await compose.runOnce(backend, ["alembic", "current"], { noDeps: true }, { allowFailure: true, timeoutMs: 5 * MINUTE_MS });
    if (r.status !== 0) throw new ClawError(`alembic current failed: ${lastLine(r.stderr || r.stdout)}`, { hint: "see the migration output above" });
    return /^([0-9a-zA-Z_]+)/m.exec(r.stdout.trim())?.[1] ?? null;
  };
  const before = await current();
  await out.step("alembic upgrade head (new image, one-off container)", () =>
    compose.runOnce(
      backend,
      ["alembic", "upgrade", "head"],
      { noDeps: true },
      { timeoutMs: 60 * MINUTE_MS, hint: "the old release still serves; fix the migration and deploy again" },
    ),
  );
  const after = await current();
  out.info(after === before ? `database already at ${after ?? "no revision"}` : `database: ${before ?? "empty"} → ${after}`);
  return { before, after };
}

async function nginxUp(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  if (!plan.nginx) return;
  await compose.up({ services: [plan.nginx], noDeps: true });
  await ready(project, compose, [plan.nginx], out);
}

async function health(project: Project, compose: ComposeClient, plan: DeployPlan, out: Output): Promise<void> {
  await out.step("every service healthy", () =>
    ready(
      project,
      compose,
      project.stack.services.map((s) => s.name),
      out,
    ),
  );
  if (!plan.nginx) return;
  await out.step(`GET /health through nginx reports ${plan.tag}`, async () => {
    const r = await compose.exec(plan.nginx!, curlOnce("https://localhost/health"), {}, { allowFailure: true, timeoutMs: 30 * SECOND_MS });
    let version: string | undefined;
    try {
      version = (JSON.parse(r.stdout) as { version?: string }).version;
    } catch {
      version = undefined;
    }
    if (r.status !== 0 || version !== plan.tag) {
      throw new ServiceUnhealthyError(
        `/health through nginx ${r.status !== 0 ? `failed (curl exit ${r.status})` : `reports ${JSON.stringify(version)}, not ${plan.tag}`}`,
        "see `docker compose logs nginx claw-ai-backend`",
      );
    }
  });
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
  const w = Math.max(...phases.map((p) => p.name.length), 5);
  return [
    `${"phase".padEnd(w)}  seconds  result`,
    ...phases.map(
      (p) => `${p.name.padEnd(w)}  ${(p.ms / 1000).toFixed(1).padStart(7)}  ${p.result}${p.note && p.result !== "ok" ? `: ${p.note}` : ""}`,
    ),
  ];
}

export function printSummary(out: Output, phases: readonly PhaseTiming[]): void {
  for (const l of summaryLines(phases)) out.info(l);
}

/** What a deploy that died left: told at the start of the next run (ledger marked interrupted). */
export function reportInterruptedDeploy(root: string, out: Output): ReleaseRecord | undefined {
  const dead = unfinishedRelease(readLedger(root).releases);
  if (dead?.result !== "started") return undefined;
  out.warn(
    `release ${dead.id} (${dead.tag}) did not finish: its deploy died during "${dead.phase ?? "preflight"}"${dead.previousTag ? `; ${dead.previousTag} served before it` : ""}`,
  );
  out.warn(
    `this run brings the stack to one release: the containers nginx does not serve are removed first${dead.previousTag ? `; to go back instead: npx zx scripts/deploy.mts --rollback-release` : ""}`,
  );
  appendLedger(root, { id: dead.id, result: "interrupted", finishedAt: new Date().toISOString() });
  return dead;
}
