/**
 * Plain `docker` commands, as argv: engine checks, throwaway drill containers, inspection and
 * the v1 fallbacks of compose's `cp`. Pure: no I/O, no quoting.
 */
import { msg } from "../core/i18n/index.ts";
import { ONE_OFF_LABEL } from "./compose.ts";

/** Whether the engine answers (and which version it runs). */
export const dockerInfo = () => ["docker", "info", "--format", "{{.ServerVersion}}"];
export const dockerRootDirInfo = () => ["docker", "info", "--format", "{{.DockerRootDir}}"];
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
  return [...oneOffRun(projectName), ...entrypointAndUser(o), image, ...command];
}

/**
 * `docker run` of one of our one-offs: removed on exit, stdin open, no network, labelled as
 * ours (a later run removes it if this one is killed); --log-driver none: what it prints (row
 * counts, keys) never lands in Docker's logs; --init: a PID 1 that passes on the SIGTERM of a
 * time limit (sh or python as PID 1 ignores it, and the limit would never end the run).
 */
function oneOffRun(projectName: string): string[] {
  return [
    "docker",
    "run",
    "--rm",
    "-i",
    "--init",
    "--network",
    "none",
    "--log-driver",
    "none",
    "--label",
    `${ONE_OFF_LABEL}=true`,
    "--label",
    `${THROWAWAY_PROJECT_LABEL}=${projectName}`,
  ];
}

function entrypointAndUser(o: { entrypoint?: string; user?: string }): string[] {
  return [...(o.entrypoint !== undefined ? ["--entrypoint", o.entrypoint] : []), ...(o.user ? ["--user", o.user] : [])];
}

/** A mount of a service's container, as a one-off needs it again. */
export interface MountSpec {
  /** A named volume's name, or a bind mount's host path. */
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * A one-off container on a (stopped) service's own mounts, with its image, user and its
 * environment from an env file (a 0600 file docker reads: the values are never in argv, and
 * never in the environment of a process on the host, where e.g. an image's BASH_ENV would run
 * code as root): what `compose run --rm --no-deps -T` does for a volume copy, minus the
 * Compose process and the network (none is needed), labelled as ours like every one-off.
 */
export function dockerRunOnMounts(
  projectName: string,
  image: string,
  mounts: readonly MountSpec[],
  command: readonly string[],
  o: { entrypoint?: string; user?: string; envFile?: string; extraVolumes?: readonly string[]; cpuShares?: number } = {},
): string[] {
  const a = oneOffRun(projectName);
  if (o.cpuShares !== undefined) a.push("--cpu-shares", String(o.cpuShares));
  for (const m of mounts) a.push("-v", `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`);
  for (const v of o.extraVolumes ?? []) a.push("-v", v);
  if (o.envFile !== undefined) a.push("--env-file", o.envFile);
  return [...a, ...entrypointAndUser(o), image, ...command];
}

/**
 * Pure: a container's environment as a docker env file (`NAME=value` a line, read literally).
 * A name docker would refuse or a value with a line break cannot be written: left out, named.
 */
export function envFileText(env: Readonly<Record<string, string>>): { text: string; left: string[] } {
  const lines: string[] = [];
  const left: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !/[\r\n]/.test(v)) lines.push(`${k}=${v}`);
    else left.push(k);
  }
  return { text: lines.length ? `${lines.join("\n")}\n` : "", left };
}

/** Pure: from `docker inspect` of one container, what dockerRunOnMounts needs. */
export function parseRunSpec(inspectJson: string): { image: string; user: string; mounts: MountSpec[]; env: Record<string, string> } {
  const [c] = JSON.parse(inspectJson) as Array<{
    Image: string;
    Config: { User?: string; Env?: string[] };
    Mounts?: Array<{ Type: string; Name?: string; Source: string; Destination: string; RW: boolean }>;
  }>;
  if (!c) throw new Error(msg.project.commands.docker.inspectNoContainer);
  const env: Record<string, string> = {};
  for (const kv of c.Config.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const mounts = (c.Mounts ?? [])
    .filter((m) => (m.Type === "volume" && m.Name) || m.Type === "bind")
    .map((m) => ({ source: m.Type === "volume" ? m.Name! : m.Source, target: m.Destination, readOnly: !m.RW }));
  return { image: c.Image, user: c.Config.User ?? "", mounts, env };
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

/** Ids of the running containers that carry a label with this value. */
export function dockerIdsLabelled(label: string, value: string): string[] {
  return ["docker", "ps", "-q", "--filter", `label=${label}=${value}`];
}

/** SIGKILL, which a PID 1 without a handler cannot ignore (SIGTERM it can). */
export function dockerKill(ids: readonly string[]): string[] {
  return ["docker", "kill", ...ids];
}

export function dockerRemove(ids: readonly string[]): string[] {
  return ["docker", "rm", "-f", ...ids];
}

/**
 * Stop containers with a grace period (SIGTERM, then SIGKILL after `timeoutSec`); without one,
 * each container's own StopTimeout (Compose v2 stores stop_grace_period there).
 */
export function dockerStop(ids: readonly string[], timeoutSec?: number): string[] {
  return ["docker", "stop", ...(timeoutSec === undefined ? [] : ["-t", String(timeoutSec)]), ...ids];
}

/** Run a command in one container by id (no TTY, like `compose exec -T`). */
export function dockerExec(id: string, command: readonly string[]): string[] {
  return ["docker", "exec", id, ...command];
}

/**
 * `compose exec -T` without Compose: the same options, by container id (one short docker CLI
 * call instead of a Compose process that loads and resolves the project first). `-i` only
 * when stdin carries data: an open stdin nobody closes would keep the exec waiting.
 */
export function dockerExecWith(
  id: string,
  command: readonly string[],
  o: { user?: string; workdir?: string; envNames?: readonly string[]; stdin?: boolean } = {},
): string[] {
  const a = ["docker", "exec"];
  if (o.stdin) a.push("-i");
  if (o.user) a.push("--user", o.user);
  if (o.workdir) a.push("--workdir", o.workdir);
  for (const n of o.envNames ?? []) a.push("-e", n);
  return [...a, id, ...command];
}

/**
 * Every container of a compose project (not one-offs), as `id service state` lines: one
 * docker call resolves them all, by the labels Compose puts on its containers.
 */
export function dockerProjectContainers(projectName: string): string[] {
  return [
    "docker",
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    `label=com.docker.compose.project=${projectName}`,
    "--filter",
    "label=com.docker.compose.oneoff=False",
    "--format",
    '{{.ID}} {{.Label "com.docker.compose.service"}} {{.State}} {{.Label "com.docker.compose.container-number"}} {{.Status}}',
  ];
}

export interface ProjectContainer {
  id: string;
  service: string;
  state: string;
  number: number;
  /** Docker's health status when the container has a healthcheck ("healthy", "unhealthy", "starting"). */
  health?: "healthy" | "unhealthy" | "starting";
  /** How long it has been up, from Docker's Status ("Up 5 seconds": 5; "About a minute": 60), when running. */
  upSeconds?: number;
}

/** Pure: Docker's "Up …" duration in seconds (its own rounding: "About a minute" is 60, "2 hours" 7200). */
export function upSecondsOf(status: string): number | undefined {
  const m = /^Up (Less than a second|About an? (minute|hour)|(\d+) (second|minute|hour|day|week|month|year)s?)\b/.exec(status);
  if (!m) return undefined;
  if (m[1] === "Less than a second") return 0;
  const unit = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800, month: 2_592_000, year: 31_536_000 };
  if (m[2]) return unit[m[2] as "minute" | "hour"];
  return Number(m[3]) * unit[m[4] as keyof typeof unit];
}

/** Pure: the lines of dockerProjectContainers (Status last: "Up 6 minutes (healthy)", "Exited (0) 2 minutes ago"). */
export function parseProjectContainers(stdout: string): ProjectContainer[] {
  return stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[0] && f[1])
    .map(([id, service, state, n, ...status]) => {
      const h = /\((healthy|unhealthy|health: starting)\)$/.exec(status.join(" "))?.[1];
      const health = h === "health: starting" ? "starting" : (h as ProjectContainer["health"]);
      const up = upSecondsOf(status.join(" "));
      return {
        id: id!,
        service: service!,
        state: state!,
        number: Number(n) || 0,
        ...(health ? { health } : {}),
        ...(up !== undefined ? { upSeconds: up } : {}),
      };
    });
}

export function dockerStart(ids: readonly string[]): string[] {
  return ["docker", "start", ...ids];
}

/** The last lines a container logged (stdout and stderr). */
export function dockerLogs(id: string, tail: number): string[] {
  return ["docker", "logs", "--tail", String(tail), id];
}

/** Docker's own health record of a container: JSON with Status and the last probes' output. */
export function dockerHealthLog(id: string): string[] {
  return ["docker", "inspect", "--format", "{{json .State.Health}}", id];
}

/** Id and repo digests of a local image; exits non-zero when it is not present. */
export function dockerImageInspect(ref: string): string[] {
  return ["docker", "image", "inspect", "--format", "{{.Id}} {{range .RepoDigests}}{{.}},{{end}}", ref];
}

/** Local tags of one repository, one `repo:tag id` per line. */
export function dockerImageTags(repository: string): string[] {
  return ["docker", "image", "ls", "--filter", `reference=${repository}`, "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"];
}

/** Ids of every container, running or not. */
export const dockerAllContainerIds = () => ["docker", "ps", "-aq"];

/** The image id (sha256:…) each container was created from, one per line. */
export function dockerImageIdsOf(ids: readonly string[]): string[] {
  return ["docker", "inspect", "--format", "{{.Image}}", ...ids];
}

/** Remove one tag; never forced: an image a container uses stays. */
export function dockerImageRemove(ref: string): string[] {
  return ["docker", "image", "rm", ref];
}

export function dockerPull(ref: string): string[] {
  return ["docker", "pull", "--quiet", ref];
}

/** "<status> <exit code>" of a container (running 0, exited 1, …). */
export function dockerState(id: string): string[] {
  return ["docker", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id];
}

/** Remove stopped containers; their volumes stay (no -v). */
export function dockerRemoveStopped(ids: readonly string[]): string[] {
  return ["docker", "rm", ...ids];
}

/** Containers that publish a host port: "<name> <compose project>" per line. */
export function dockerPublishers(port: number): string[] {
  return ["docker", "ps", "--filter", `publish=${port}`, "--format", '{{.Names}} {{.Label "com.docker.compose.project"}}'];
}

export const dockerRootDir = () => ["docker", "info", "--format", "{{.DockerRootDir}}"];

/** "<id> <image id> <created> <name>" per container: which release a container runs, and its age. */
export function dockerDescribe(ids: readonly string[]): string[] {
  return ["docker", "inspect", "--format", "{{.Id}} {{.Image}} {{.Created}} {{.Name}}", ...ids];
}

/** The image reference a container was created from (repository:tag as written). */
export function dockerConfigImage(id: string): string[] {
  return ["docker", "inspect", "--format", "{{.Config.Image}}", id];
}

export function dockerVolumeInspect(name: string): string[] {
  return ["docker", "volume", "inspect", "--format", "{{.Name}}", name];
}

/** Whether a registry has a reference (no pull): exits non-zero when it does not, or is unreachable. */
export function dockerManifestInspect(ref: string): string[] {
  return ["docker", "manifest", "inspect", ref];
}
