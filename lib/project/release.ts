/**
 * What runs now: the release (the backend's image and tag, as Compose interpolates it) and
 * whether the services an operation needs are running.
 */
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { composeVariable, type Project } from "./project.ts";
import { interpolate, type Role, serviceByRole } from "./stack.ts";

export interface Release {
  image: string;
  tag: string;
}

/** Pure: an image reference split into repository and tag (`latest` when it has none). */
export function splitImageRef(ref: string): Release {
  const i = ref.lastIndexOf(":");
  return i > 0 && !ref.slice(i).includes("/") ? { image: ref.slice(0, i), tag: ref.slice(i + 1) } : { image: ref, tag: "latest" };
}

export function releaseOf(project: Project): Release {
  const backend = serviceByRole(project.stack, "backend");
  return splitImageRef(interpolate(backend.image ?? "", (k) => composeVariable(project, k)));
}

export const formatRelease = (r: Release) => `${r.image}:${r.tag}`;

/** The compose service names of these roles (those the stack has). */
export function servicesOf(project: Project, roles: readonly string[]): string[] {
  return roles.map((r) => project.stack.services.find((s) => s.role === r)?.name).filter((n): n is string => !!n);
}

/** Refuse (exit 3, nothing touched) unless every service of these roles is running. */
export async function requireRunning(project: Project, roles: readonly Role[]): Promise<void> {
  if (roles.length === 0) return;
  const states = await project.compose.ps({ all: true });
  for (const role of roles) {
    const svc = serviceByRole(project.stack, role).name;
    const st = states.find((s) => s.service === svc);
    if (st?.state !== "running") {
      throw new PreconditionError(msg.project.release.notRunning({ service: svc }), msg.project.release.notRunningHint({ service: svc }));
    }
  }
}

/**
 * Start the services of these roles that are not running (a run that died may have left them
 * stopped for a consistent copy) and wait until they are ready; returns the ones it started.
 */
export async function startLeftStopped(project: Project, roles: readonly Role[], warn: (m: string) => void): Promise<string[]> {
  const wanted = servicesOf(project, roles);
  if (wanted.length === 0) return [];
  const states = await project.compose.ps({ all: true });
  const stopped = wanted.filter((s) => states.find((c) => c.service === s)?.state !== "running");
  if (stopped.length === 0) return [];
  warn(msg.project.release.leftStopped({ services: stopped }));
  await project.compose.startReady(stopped);
  return stopped;
}
