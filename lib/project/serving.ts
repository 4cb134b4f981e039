/**
 * Which backend nginx sends requests to: nginx/live/backend.conf, an include of nginx.conf.
 * At rest it names the compose service (Docker's DNS: whatever container runs, so a restore,
 * a `docker compose up` by hand or a recreated container are reached with no claw-ops
 * involved). Only during a deploy does it name one container, so the new release can start
 * beside the old without receiving requests before it is healthy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as d from "../commands/docker.ts";
import { BACKEND_CONF, backendConf, nginxReload, nginxTest, parseBackendConf } from "../commands/nginx.ts";
import { ClawError } from "../core/errors.ts";
import { run } from "../core/exec.ts";
import { writeFileAtomic } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import type { Project } from "./project.ts";
import { findByRole, serviceByRole } from "./stack.ts";

export const BACKEND_PORT = 8000;

/** The host live/backend.conf names (a container, or the service), if the file names one. */
export function servingTarget(root: string): { host: string; port: number } | undefined {
  const file = join(root, BACKEND_CONF);
  return existsSync(file) ? parseBackendConf(readFileSync(file, "utf8")) : undefined;
}

async function nginxRunning(project: Project): Promise<string | undefined> {
  const nginx = findByRole(project.stack, "nginx");
  if (!nginx) return undefined;
  const states = await project.compose.ps({ services: [nginx.name] });
  return states.some((c) => c.service === nginx.name && c.state === "running") ? nginx.name : undefined;
}

/**
 * Point nginx at `host` (a container name or the service name): the file replaced atomically,
 * then, when nginx runs, `nginx -t` and a graceful reload. A config nginx refuses is put back.
 * Returns whether nginx was reloaded.
 */
export async function pointNginx(project: Project, host: string, note: string): Promise<boolean> {
  const file = join(project.root, BACKEND_CONF);
  const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  const port = servingTarget(project.root)?.port ?? BACKEND_PORT;
  // Written and reloaded even when unchanged: a run that died between the two is made whole.
  writeFileAtomic(file, backendConf(host, port, note));
  const nginx = await nginxRunning(project);
  if (!nginx) return false;
  const test = await project.compose.exec(nginx, nginxTest(), {}, { allowFailure: true, timeoutMs: 30_000 });
  if (test.status !== 0) {
    if (before !== undefined) writeFileAtomic(file, before);
    throw new ClawError(
      msg.project.serving.nginxRefuses({ file: BACKEND_CONF, host, reason: (test.stderr || test.stdout).trim().split("\n").pop() }),
      {
        hint: msg.project.serving.nginxRefusesHint,
      },
    );
  }
  await project.compose.exec(nginx, nginxReload(), {}, { timeoutMs: 30_000 });
  return true;
}

/** Point nginx back at the service name (the state at rest). */
export function pointNginxAtService(project: Project, note: string): Promise<boolean> {
  return pointNginx(project, serviceByRole(project.stack, "backend").name, note);
}

/**
 * After anything that may have removed or recreated backend containers (a restore, a deploy
 * that died): if the file names a container that does not run, point nginx at the service
 * again. Returns what it did, for a warning.
 */
export async function reconcileServing(project: Project): Promise<string | undefined> {
  const target = servingTarget(project.root);
  const backend = findByRole(project.stack, "backend");
  if (!backend || !target || target.host === backend.name) return undefined;
  const r = await run({ argv: d.dockerState(target.host) }, { allowFailure: true });
  if (r.status === 0 && r.stdout.startsWith("running")) return undefined;
  await pointNginxAtService(project, "reconciled: the container it named is gone");
  return msg.project.serving.reconciled({ container: target.host, service: backend.name });
}
