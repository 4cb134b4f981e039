/**
 * The rollout of the app services to a release, one service at a time, by strategy:
 * - switch (the backend behind nginx): the new container starts beside the old one, passes
 *   its own healthcheck, nginx is pointed at it (live/backend.conf, `nginx -t`, graceful
 *   reload) and must answer /health with the new version; then the old workers drain and the
 *   old container gets SIGTERM (uvicorn finishes what it has in flight). A failure at any
 *   step before the old one is stopped puts nginx back and removes the new one: the old
 *   release never stopped serving.
 * - overlap (Celery workers): new workers start, pass `celery inspect ping`, then the old get
 *   SIGTERM and finish their running tasks within stop_grace_period (warm shutdown).
 * - recreate (Celery beat, Flower: singletons): Compose stops the old before it starts the
 *   new, so two beats never run at once.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerState } from "../commands/compose.ts";
import { curlOnce } from "../commands/http.ts";
import { BACKEND_CONF, backendConf, nginxDrainingWorkers, nginxReload, nginxTest, parseBackendConf } from "../commands/nginx.ts";
import { sleep } from "../core/async.ts";
import { ClawError, ServiceUnhealthyError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import type { Output } from "../core/output.ts";
import { SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { findByRole, type ServiceModel, type StackModel } from "../project/stack.ts";
import { containersOf, diagnose, stopAndRemove, stopGraceSec, waitContainerReady } from "./containers.ts";

export type Strategy = "switch" | "overlap" | "recreate";

export interface RolloutStep {
  service: string;
  strategy: Strategy;
}

/** How long old nginx workers may take to finish their requests after a reload before the old backend is stopped anyway. */
export const DRAIN_TIMEOUT_MS = 60 * SECOND_MS;
const BACKEND_PORT = 8000;

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
}

export function rollOut(ctx: RolloutContext, step: RolloutStep): Promise<StepResult> {
  const svc = ctx.stack.services.find((s) => s.name === step.service);
  if (!svc) throw new ClawError(`service ${step.service} is not in the compose file`);
  if (step.strategy === "switch") return switchBackend(ctx, svc);
  if (step.strategy === "overlap") return overlap(ctx, svc);
  return recreate(ctx, svc);
}

const running = (cs: readonly ContainerState[]) => cs.filter((c) => c.state === "running");
const evidenceTo = (out: Output) => (lines: string[]) => {
  for (const l of lines) out.warn(l);
};

/** The backend container nginx sends requests to now (live/backend.conf), if it names one. */
export function servingBackend(root: string): string | undefined {
  const file = join(root, BACKEND_CONF);
  return existsSync(file) ? parseBackendConf(readFileSync(file, "utf8"))?.host : undefined;
}

/** Start `count` more containers of a service beside the running ones; returns the new ones. */
async function scaleUp(compose: ComposeClient, service: string, before: readonly ContainerState[]): Promise<ContainerState[]> {
  const ids = new Set(before.map((c) => c.id));
  const target = before.length * 2 || 1;
  await compose.up({ services: [service], noDeps: true, noRecreate: true, scale: { [service]: target } });
  return (await containersOf(compose, service)).filter((c) => !ids.has(c.id));
}

async function switchBackend(ctx: RolloutContext, svc: ServiceModel): Promise<StepResult> {
  const { compose, out } = ctx;
  const all = await containersOf(compose, svc.name);
  const target = servingBackend(ctx.root);
  const nginx = findByRole(ctx.stack, "nginx");
  const nginxUp = nginx ? running(await containersOf(compose, nginx.name)).length > 0 : false;
  // What serves: the container nginx names; before the first deploy (the service name) all of them.
  const serving = all.filter((c) => c.state === "running" && (target === undefined || target === svc.name || c.name === target));
  // Anything else (a deploy that died left it, or it is stopped) serves nothing: removed first.
  const stray = all.filter((c) => !serving.includes(c));
  if (stray.length) {
    out.warn(
      `removing ${stray.length} backend container(s) that serve nothing (left by an interrupted deploy?): ${stray.map((c) => c.name).join(", ")}`,
    );
    await stopAndRemove(
      stray.map((c) => c.id),
      stopGraceSec(svc),
    );
  }
  const fresh = await out.step(`start the new ${svc.name} beside the old`, () => scaleUp(compose, svc.name, serving));
  const created = fresh[0];
  if (fresh.length !== 1 || !created) throw new ClawError(`expected one new ${svc.name} container, Compose started ${fresh.length}`);
  const removeFresh = () =>
    stopAndRemove([created.id], stopGraceSec(svc)).catch((e: Error) => out.warn(`could not remove ${created.name}: ${e.message}`));
  try {
    await out.step(`${created.name}: healthy (its own healthcheck)`, () =>
      waitContainerReady(compose, svc, created, `release ${ctx.version}`, evidenceTo(out)),
    );
  } catch (e) {
    await removeFresh();
    throw e;
  }
  const confFile = join(ctx.root, BACKEND_CONF);
  const before = existsSync(confFile) ? readFileSync(confFile, "utf8") : undefined;
  const point = async (text: string) => {
    writeFileAtomic(confFile, text);
    if (!nginxUp || !nginx) return;
    await compose.exec(nginx.name, nginxTest());
    await compose.exec(nginx.name, nginxReload());
  };
  try {
    await out.step(`nginx → ${created.name} (nginx -t, graceful reload)`, () =>
      point(backendConf(created.name, BACKEND_PORT, `release ${ctx.releaseId}, ${ctx.version}`)),
    );
    if (nginxUp && nginx) await out.step(`GET /health through nginx reports ${ctx.version}`, () => expectVersion(compose, nginx.name, ctx.version));
  } catch (e) {
    out.warn(`switching back: nginx → ${serving.map((c) => c.name).join(", ") || svc.name}`);
    if (before !== undefined) await point(before).catch((e2: Error) => out.error(`could not point nginx back: ${e2.message}`));
    await removeFresh();
    throw e;
  }
  if (serving.length) {
    if (nginxUp && nginx) await out.step("old nginx workers finish their requests", () => drain(compose, nginx.name, out));
    await out.step(`stop the old ${svc.name} (${serving.map((c) => c.name).join(", ")})`, () =>
      stopAndRemove(
        serving.map((c) => c.id),
        stopGraceSec(svc),
      ),
    );
  }
  return { service: svc.name, strategy: "switch", containers: [created.name], replaced: serving.map((c) => c.name) };
}

/** Poll /health through nginx until it reports `version` (the reload is asynchronous). */
async function expectVersion(compose: ComposeClient, nginx: string, version: string, timeoutMs = 20 * SECOND_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const r = await compose.exec(nginx, curlOnce("https://localhost/health"), {}, { allowFailure: true, timeoutMs: 15 * SECOND_MS });
    if (r.status === 0) {
      try {
        const got = (JSON.parse(r.stdout) as { version?: string }).version;
        if (got === version) return;
        last = `it reports version ${JSON.stringify(got)}`;
      } catch {
        last = "it answered something that is not JSON";
      }
    } else {
      last = `curl exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`;
    }
    if (Date.now() > deadline)
      throw new ServiceUnhealthyError(`/health through nginx does not report ${version}: ${last}`, "see `docker compose logs nginx`");
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
      out.warn(
        `nginx workers still finish requests after ${DRAIN_TIMEOUT_MS / 1000} s: stopping the old backend anyway (its own grace period follows)`,
      );
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
  if (stopped.length)
    await stopAndRemove(
      stopped.map((c) => c.id),
      1,
    );
  const fresh = await out.step(`start ${old.length || 1} new ${svc.name} beside the old`, () => scaleUp(compose, svc.name, old));
  try {
    await out.step(`${svc.name}: the new container${fresh.length === 1 ? "" : "s"} healthy`, () =>
      Promise.all(fresh.map((c) => waitContainerReady(compose, svc, c, `release ${ctx.version}`, evidenceTo(out)))),
    );
  } catch (e) {
    await stopAndRemove(
      fresh.map((c) => c.id),
      stopGraceSec(svc),
    ).catch((e2: Error) => out.warn(`could not remove the new ${svc.name}: ${e2.message}`));
    throw e;
  }
  if (old.length) {
    const grace = stopGraceSec(svc);
    await out.step(`stop the old ${svc.name} (SIGTERM: running tasks finish, up to ${grace} s)`, () =>
      stopAndRemove(
        old.map((c) => c.id),
        grace,
      ),
    );
  }
  return { service: svc.name, strategy: "overlap", containers: fresh.map((c) => c.name), replaced: old.map((c) => c.name) };
}

async function recreate(ctx: RolloutContext, svc: ServiceModel): Promise<StepResult> {
  const { compose, out } = ctx;
  const old = await containersOf(compose, svc.name);
  // Compose stops the old container before it starts the new one: never two at once.
  await out.step(`recreate ${svc.name} (the old one stops first: a singleton)`, () => compose.up({ services: [svc.name], noDeps: true }));
  const now = running(await containersOf(compose, svc.name));
  const c = now[0];
  if (!c) {
    const gone = (await containersOf(compose, svc.name))[0];
    if (gone) evidenceTo(out)(await diagnose(gone.id));
    throw new ServiceUnhealthyError(`${svc.name} did not start`, `see \`docker compose logs ${svc.name}\``);
  }
  await out.step(`${svc.name}: healthy`, () => waitContainerReady(compose, svc, c, `release ${ctx.version}`, evidenceTo(out)));
  return { service: svc.name, strategy: "recreate", containers: [c.name], replaced: old.filter((o) => o.id !== c.id).map((o) => o.name) };
}
