/**
 * The rollout of the app services to a release, one service at a time, by strategy:
 * - switch (the backend behind nginx): nginx is pinned to the container that serves (at rest
 *   live/backend.conf names the service); the new container starts beside it, passes its own
 *   healthcheck, nginx is pointed at it (`nginx -t`, graceful reload) and must answer /health
 *   with the new version; then the old workers drain, the old container gets SIGTERM (uvicorn
 *   finishes what it has in flight) and nginx names the service again. A failure at any step
 *   before the old one is stopped puts nginx back and removes the new one: the old release
 *   never stopped serving.
 * - overlap (Celery workers): new workers start, pass `celery inspect ping`, then the old get
 *   SIGTERM and finish their running tasks within stop_grace_period (warm shutdown).
 * - recreate (Celery beat, Flower: singletons): Compose stops the old before it starts the
 *   new, so two beats never run at once.
 */
import type { ContainerState } from "../commands/compose.ts";
import { curlOnce } from "../commands/http.ts";
import { nginxDrainingWorkers } from "../commands/nginx.ts";
import { sleep } from "../core/async.ts";
import { ClawError, ServiceUnhealthyError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { Project } from "../project/project.ts";
import { pointNginx, pointNginxAtService, servingTarget } from "../project/serving.ts";
import { findByRole, type ServiceModel, type StackModel } from "../project/stack.ts";
import { containersOf, describeContainers, diagnose, stopAndRemove, stopGraceSec, waitContainerReady } from "./containers.ts";

export type Strategy = "switch" | "overlap" | "recreate";

export interface RolloutStep {
  service: string;
  strategy: Strategy;
}

/** How long old nginx workers may take to finish their requests after a reload before the old backend is stopped anyway. */
export const DRAIN_TIMEOUT_MS = 60 * SECOND_MS;

/**
 * Pure: the services a release changes (those that run the backend's image) and how each is
 * rolled: the backend first (the new code serves), then workers, then the singletons.
 */
export function rolloutSteps(stack: StackModel): RolloutStep[] {
  const backend = findByRole(stack, "backend");
  if (!backend?.image) return [];
  const app = stack.services.filter((s) => s.image === backend.image);
  // Compose cannot run two containers of a service with a container_name: those are recreated.
  const strategy = (s: ServiceModel): Strategy =>
    s.role === "backend" ? "switch" : !s.containerName && s.role !== "celery-beat" ? "overlap" : "recreate";
  const rank: Record<Strategy, number> = { switch: 0, overlap: 1, recreate: 2 };
  return app.map((s) => ({ service: s.name, strategy: strategy(s) })).sort((a, b) => rank[a.strategy] - rank[b.strategy]);
}

export interface RolloutContext {
  root: string;
  project: Project;
  /** The image the release runs (repository:tag): a container already on it is left alone. */
  imageRef: string;
  stack: StackModel;
  /** Compose with the release's variables (CLAW_AI_TAG) set. */
  compose: ComposeClient;
  out: Output;
  /** The version /health must report once nginx serves the new backend. */
  version: string;
  /** Release id, for the note in live/backend.conf. */
  releaseId: string;
}

export interface StepResult {
  service: string;
  strategy: Strategy;
  /** The containers that now run the release. */
  containers: string[];
  /** The containers it replaced (stopped and removed). */
  replaced: string[];
  /** Whether it changed anything (a service already on the release is left alone). */
  changed: boolean;
}

export function rollOut(ctx: RolloutContext, step: RolloutStep): Promise<StepResult> {
  const svc = ctx.stack.services.find((s) => s.name === step.service);
  if (!svc) throw new ClawError(msg.deploy.rollout.notInCompose({ service: step.service }));
  if (step.strategy === "switch") return switchBackend(ctx, svc);
  if (step.strategy === "overlap") return overlap(ctx, svc);
  return recreate(ctx, svc);
}

const running = (cs: readonly ContainerState[]) => cs.filter((c) => c.state === "running");
const evidenceTo = (out: Output) => (lines: string[]) => {
  for (const l of lines) out.warn(l);
};

/** Start `count` more containers of a service beside the running ones; returns the new ones. */
async function scaleUp(compose: ComposeClient, service: string, before: readonly ContainerState[]): Promise<ContainerState[]> {
  const ids = new Set(before.map((c) => c.id));
  const target = before.length * 2 || 1;
  await compose.up({ services: [service], noDeps: true, noRecreate: true, scale: { [service]: target } });
  return (await containersOf(compose, service)).filter((c) => !ids.has(c.id));
}

/** Whether every one of these containers already runs the release's definition (a step to skip). */
async function runsRelease(ctx: RolloutContext, svc: ServiceModel, cs: readonly ContainerState[]): Promise<boolean> {
  return (
    (await ctx.compose.upToDate(
      svc.name,
      cs.map((c) => c.id),
    )) === true
  );
}

/**
 * The container that serves now: the one live/backend.conf names if it runs; else (at rest:
 * the service name) the only one running, or the oldest when a deploy that died left more.
 */
async function servingNow(ctx: RolloutContext, running: readonly ContainerState[]): Promise<ContainerState | undefined> {
  const target = servingTarget(ctx.root)?.host;
  const named = running.find((c) => c.name === target);
  if (named || running.length <= 1) return named ?? running[0];
  const described = await describeContainers(running.map((c) => c.id));
  const oldest = [...described].sort((a, b) => a.created.localeCompare(b.created))[0];
  return running.find((c) => c.id === oldest?.id || oldest?.id.startsWith(c.id));
}

async function switchBackend(ctx: RolloutContext, svc: ServiceModel): Promise<StepResult> {
  const { compose, out, project } = ctx;
  const all = await containersOf(compose, svc.name);
  const old = await servingNow(ctx, running(all));
  const stray = all.filter((c) => c.id !== old?.id);
  if (old && stray.length === 0 && (await runsRelease(ctx, svc, [old]))) {
    out.info(msg.deploy.rollout.alreadyRunsOn({ service: svc.name, container: old.name, ref: ctx.imageRef }));
    await pointNginxAtService(project, `release ${ctx.releaseId}`);
    return { service: svc.name, strategy: "switch", containers: [old.name], replaced: [], changed: false };
  }
  await pinServing(ctx, svc, old, stray);
  const created = await startBeside(ctx, svc, old);
  const backToOld = () => dropNew(ctx, svc, created);
  await orUndo(
    () =>
      out.step(
        localized((t) => t.deploy.rollout.healthyOwnStep({ container: created.name })),
        () => waitContainerReady(compose, svc, created, msg.deploy.containers.releaseWhat({ version: ctx.version }), evidenceTo(out)),
      ),
    backToOld,
  );
  const nginx = findByRole(ctx.stack, "nginx");
  const reloaded = await out.step(
    localized((t) => t.deploy.rollout.switchStep({ container: created.name })),
    () => orUndo(() => pointNginx(project, created.name, `release ${ctx.releaseId}, ${ctx.version}`), backToOld),
  );
  const through = reloaded && nginx ? nginx.name : undefined;
  if (through) await checkThroughNginx(ctx, through, old, backToOld);
  if (old) await retire(ctx, svc, old, through);
  // At rest nginx names the service again: only the new container is left behind it.
  await out.step(
    localized((t) => t.deploy.rollout.atRestStep),
    () => pointNginxAtService(project, `release ${ctx.releaseId}, ${ctx.version}`),
  );
  return { service: svc.name, strategy: "switch", containers: [created.name], replaced: old ? [old.name] : [], changed: true };
}

/** Runs `fn`; if it fails, `undo` runs before the error goes on. */
async function orUndo<T>(fn: () => Promise<T>, undo: () => Promise<void>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    await undo();
    throw e;
  }
}

/**
 * Before anything else starts, nginx is pinned to the container that serves: a stray or the new
 * container never gets a request (a run that died between writing the file and reloading is
 * made whole). Then the strays (containers a dead run left) go.
 */
async function pinServing(ctx: RolloutContext, svc: ServiceModel, old: ContainerState | undefined, stray: readonly ContainerState[]): Promise<void> {
  const { out, project } = ctx;
  if (old)
    await out.step(
      localized((t) => t.deploy.rollout.pinStep({ container: old.name })),
      () => pointNginx(project, old.name, `release ${ctx.releaseId}: before the switch`),
    );
  if (stray.length) {
    out.warn(msg.deploy.rollout.removingStray({ n: stray.length, names: stray.map((c) => c.name).join(", ") }));
    await stopAndRemove(
      stray.map((c) => c.id),
      stopGraceSec(svc),
    );
  }
}

/** The new backend container, started beside the one that serves: exactly one. */
async function startBeside(ctx: RolloutContext, svc: ServiceModel, old: ContainerState | undefined): Promise<ContainerState> {
  const fresh = await ctx.out.step(
    localized((t) => t.deploy.rollout.startBesideStep({ service: svc.name })),
    () => scaleUp(ctx.compose, svc.name, old ? [old] : []),
  );
  const created = fresh[0];
  if (fresh.length !== 1 || !created) throw new ClawError(msg.deploy.rollout.expectedOne({ service: svc.name, n: fresh.length }));
  return created;
}

/** The switch did not hold: the new container goes and nginx names the service again (the old one never stopped). */
async function dropNew(ctx: RolloutContext, svc: ServiceModel, created: ContainerState): Promise<void> {
  const { out, project } = ctx;
  await stopAndRemove([created.id], stopGraceSec(svc)).catch((e: Error) =>
    out.warn(msg.deploy.rollout.cannotRemove({ container: created.name, reason: e.message })),
  );
  await pointNginxAtService(project, "the new release failed: back at rest").catch((e: Error) =>
    out.error(msg.deploy.rollout.cannotPointAtService({ reason: e.message })),
  );
}

/** /health through nginx must report the new version; if it does not, nginx goes back to the old container and the new one goes. */
async function checkThroughNginx(ctx: RolloutContext, nginx: string, old: ContainerState | undefined, backToOld: () => Promise<void>): Promise<void> {
  const { out, project } = ctx;
  try {
    await out.step(
      localized((t) => t.deploy.rollout.healthReportsStep({ version: ctx.version })),
      () => expectVersion(ctx.compose, nginx, ctx.version),
    );
  } catch (e) {
    if (old) {
      out.warn(msg.deploy.rollout.switchingBack({ container: old.name }));
      try {
        await pointNginx(project, old.name, "the new release failed its check through nginx");
      } catch (e2) {
        // nginx may still send to the new container: it stays, the error says so.
        throw new ClawError(msg.deploy.rollout.cannotPointBack({ error: (e as Error).message, container: old.name, reason: (e2 as Error).message }), {
          hint: msg.deploy.rollout.cannotPointBackHint,
        });
      }
    }
    await backToOld();
    throw e;
  }
}

/** The old container, once the new one serves: nginx's old workers drain (when nginx was reloaded), then a graceful stop. */
async function retire(ctx: RolloutContext, svc: ServiceModel, old: ContainerState, nginx: string | undefined): Promise<void> {
  const { compose, out } = ctx;
  if (nginx)
    await out.step(
      localized((t) => t.deploy.rollout.drainStep),
      () => drain(compose, nginx, out),
    );
  await out.step(
    localized((t) => t.deploy.rollout.stopOldStep({ service: svc.name, container: old.name })),
    () => stopAndRemove([old.id], stopGraceSec(svc)),
  );
}

/** Poll /health through nginx until it reports `version` (the reload is asynchronous). */
export async function expectVersion(compose: ComposeClient, nginx: string, version: string, timeoutMs = 20 * SECOND_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const r = await compose.exec(nginx, curlOnce("https://localhost/health"), {}, { allowFailure: true, timeoutMs: 15 * SECOND_MS });
    if (r.status === 0) {
      try {
        const got = (JSON.parse(r.stdout) as { version?: string }).version;
        if (got === version) return;
        last = msg.deploy.rollout.reportsVersion({ got: JSON.stringify(got) });
      } catch {
        last = msg.deploy.rollout.notJson;
      }
    } else {
      last = msg.deploy.rollout.curlExit({ status: r.status, tail: (r.stderr || r.stdout).trim().split("\n").pop() ?? "" });
    }
    if (Date.now() > deadline) throw new ServiceUnhealthyError(msg.deploy.rollout.wrongVersion({ version, last }), msg.deploy.rollout.nginxLogsHint);
    await sleep(250);
  }
}

/** Wait until no nginx worker of an earlier configuration is left (bounded: long requests may keep one alive). */
async function drain(compose: ComposeClient, nginx: string, out: Output): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const r = await compose.exec(nginx, nginxDrainingWorkers(), {}, { allowFailure: true });
    if (r.status !== 0 || Number(r.stdout.trim()) === 0) return;
    if (Date.now() > deadline) {
      out.warn(msg.deploy.rollout.drainTimeout({ secs: DRAIN_TIMEOUT_MS / 1000 }));
      return;
    }
    await sleep(200);
  }
}

async function overlap(ctx: RolloutContext, svc: ServiceModel): Promise<StepResult> {
  const { compose, out } = ctx;
  const all = await containersOf(compose, svc.name);
  const old = running(all);
  const stopped = all.filter((c) => !old.includes(c));
  if (stopped.length === 0 && (await runsRelease(ctx, svc, old))) {
    out.info(msg.deploy.rollout.alreadyRuns({ service: svc.name, ref: ctx.imageRef }));
    return { service: svc.name, strategy: "overlap", containers: old.map((c) => c.name), replaced: [], changed: false };
  }
  if (stopped.length)
    await stopAndRemove(
      stopped.map((c) => c.id),
      1,
    );
  const fresh = await out.step(
    localized((t) => t.deploy.rollout.startNewStep({ n: old.length || 1, service: svc.name })),
    () => scaleUp(compose, svc.name, old),
  );
  try {
    await out.step(
      localized((t) => t.deploy.rollout.newHealthyStep({ service: svc.name, n: fresh.length })),
      () =>
        Promise.all(
          fresh.map((c) => waitContainerReady(compose, svc, c, msg.deploy.containers.releaseWhat({ version: ctx.version }), evidenceTo(out))),
        ),
    );
  } catch (e) {
    await stopAndRemove(
      fresh.map((c) => c.id),
      stopGraceSec(svc),
    ).catch((e2: Error) => out.warn(msg.deploy.rollout.cannotRemoveNew({ service: svc.name, reason: e2.message })));
    throw e;
  }
  if (old.length) {
    const grace = stopGraceSec(svc);
    await out.step(
      localized((t) => t.deploy.rollout.stopOldTasksStep({ service: svc.name, grace })),
      () =>
        stopAndRemove(
          old.map((c) => c.id),
          grace,
        ),
    );
  }
  return { service: svc.name, strategy: "overlap", containers: fresh.map((c) => c.name), replaced: old.map((c) => c.name), changed: true };
}

async function recreate(ctx: RolloutContext, svc: ServiceModel): Promise<StepResult> {
  const { compose, out } = ctx;
  const old = await containersOf(compose, svc.name);
  // Compose stops the old container before it starts the new one: never two at once.
  await out.step(
    localized((t) => t.deploy.rollout.recreateStep({ service: svc.name })),
    () => compose.up({ services: [svc.name], noDeps: true }),
  );
  const now = running(await containersOf(compose, svc.name));
  const c = now[0];
  if (!c) {
    const gone = (await containersOf(compose, svc.name))[0];
    if (gone) evidenceTo(out)(await diagnose(gone.id));
    throw new ServiceUnhealthyError(msg.deploy.rollout.didNotStart({ service: svc.name }), msg.deploy.rollout.composeLogsHint({ service: svc.name }));
  }
  await out.step(
    localized((t) => t.deploy.rollout.healthyStep({ service: svc.name })),
    () => waitContainerReady(compose, svc, c, msg.deploy.containers.releaseWhat({ version: ctx.version }), evidenceTo(out)),
  );
  const replaced = old.filter((o) => o.id !== c.id).map((o) => o.name);
  return { service: svc.name, strategy: "recreate", containers: [c.name], replaced, changed: replaced.length > 0 || old.length === 0 };
}
