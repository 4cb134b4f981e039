/**
 * Plain `docker` commands, as argv: engine checks, throwaway drill containers, inspection and
 * the v1 fallbacks of compose's `cp`. Pure: no I/O, no quoting.
 */
import { ONE_OFF_LABEL } from "./compose.ts";

/** Whether the engine answers (and which version it runs). */
export const dockerInfo = () => ["docker", "info", "--format", "{{.ServerVersion}}"];
export const composeV2Version = () => ["docker", "compose", "version"];
export const composeV1Version = () => ["docker-compose", "version"];

/** v1 fallback for `cp`: plain `docker cp` with the container id from `ps -q`. */
export function dockerCp(from: string, to: string): string[] {
  return ["docker", "cp", from, to];
}

/** Label that ties a throwaway (plain `docker run`) container to its compose project. */
export const THROWAWAY_PROJECT_LABEL = "ai.claw.ops.project";

/**
 * A throwaway container of an image, for restore drills: no network, no volumes (the live
 * data is out of reach), stdin open for the artifact, removed on exit, labelled as ours so a
 * later run removes it if this one is killed. Not a compose container: `compose ps` and
 * `up --remove-orphans` never see it.
 */
export function dockerRunThrowaway(
  projectName: string,
  image: string,
  command: readonly string[],
  o: { entrypoint?: string; user?: string } = {},
): string[] {
  // --log-driver none: what a drill prints (row counts, keys) never lands in Docker's logs.
  const a = [
    "docker",
    "run",
    "--rm",
    "-i",
    "--network",
    "none",
    "--log-driver",
    "none",
    "--label",
    `${ONE_OFF_LABEL}=true`,
    "--label",
    `${THROWAWAY_PROJECT_LABEL}=${projectName}`,
  ];
  if (o.entrypoint !== undefined) a.push("--entrypoint", o.entrypoint);
  if (o.user) a.push("--user", o.user);
  return [...a, image, ...command];
}

/** The image id a container runs (not its tag, which may have moved since). */
export function dockerImageOf(id: string): string[] {
  return ["docker", "inspect", "--format", "{{.Image}}", id];
}

export function dockerInspect(ids: readonly string[]): string[] {
  return ["docker", "inspect", ...ids];
}

/** Ids of claw-ops' own one-off containers of a project, under one of its project labels. */
export function dockerOneOffIds(projectLabel: string, projectName: string): string[] {
  return ["docker", "ps", "-aq", "--filter", `label=${projectLabel}=${projectName}`, "--filter", `label=${ONE_OFF_LABEL}=true`];
}

export function dockerRemove(ids: readonly string[]): string[] {
  return ["docker", "rm", "-f", ...ids];
}
