/**
 * What runs now, read from the stack (reads only): which roles run, whether Postgres has a
 * volume, the backend container that serves and the image it runs. The plan's facts and the
 * failure path's "what serves now" both read it here.
 */
import * as d from "../commands/docker.ts";
import { run } from "../core/exec.ts";
import type { Project } from "../project/project.ts";
import { servingTarget } from "../project/serving.ts";
import { serviceByRole } from "../project/stack.ts";
import { containersOf } from "./containers.ts";

/** Whether every service of a role runs, from one `compose ps`. */
export async function roleRunning(project: Project): Promise<(role: string) => boolean> {
  const states = await project.compose.ps({ all: true });
  return (role) =>
    project.stack.services.filter((s) => s.role === role).every((s) => states.some((c) => c.service === s.name && c.state === "running"));
}

/** The backend container that serves (the one nginx names, else the first running), with the image reference it runs. */
export async function servingContainer(project: Project): Promise<{ name: string; image: string; running: number } | undefined> {
  const backend = serviceByRole(project.stack, "backend");
  const running = (await containersOf(project.compose, backend.name)).filter((c) => c.state === "running");
  const target = servingTarget(project.root)?.host;
  const serving = running.find((c) => c.name === target) ?? running[0];
  if (!serving) return undefined;
  const image = (await run({ argv: d.dockerConfigImage(serving.id) }, { allowFailure: true })).stdout.trim();
  return { name: serving.name, image, running: running.length };
}

/** Whether Postgres' named volume exists (a stack found stopped still has data to back up). */
export async function postgresVolumeExists(project: Project): Promise<boolean> {
  const pg = serviceByRole(project.stack, "postgres");
  const vol = pg.volumes.find((v) => v.type === "volume");
  if (!vol) return false;
  return (await run({ argv: d.dockerVolumeInspect(`${project.effectiveName}_${vol.source}`) }, { allowFailure: true })).status === 0;
}
