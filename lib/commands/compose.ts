/**
 * Docker Compose: detection of v2 (`docker compose`) or v1 (`docker-compose`), pure argv
 * builders for every subcommand the scripts use, and parsing of `ps` output.
 * Builders do no I/O and no quoting; lib/infra/compose-client.ts runs them (with v1 fallbacks).
 * Plain `docker` commands are in ./docker.ts.
 */
export type ComposeFlavor = "v2" | "v1";

export interface ComposeProject {
  flavor: ComposeFlavor;
  /** Compose files, in override order. */
  files: readonly string[];
  envFile?: string;
  projectName?: string;
  projectDir?: string;
}

export function composeBinary(flavor: ComposeFlavor): string[] {
  return flavor === "v2" ? ["docker", "compose"] : ["docker-compose"];
}

export function baseArgs(p: ComposeProject): string[] {
  const out = composeBinary(p.flavor);
  for (const f of p.files) out.push("-f", f);
  if (p.envFile) out.push("--env-file", p.envFile);
  if (p.projectName) out.push("-p", p.projectName);
  if (p.projectDir) out.push("--project-directory", p.projectDir);
  return out;
}

export interface UpOptions {
  services?: readonly string[];
  /** Wait for healthchecks (v2 only; the client polls health on v1). */
  wait?: boolean;
  waitTimeoutSec?: number;
  noDeps?: boolean;
  forceRecreate?: boolean;
  noBuild?: boolean;
  removeOrphans?: boolean;
  /** Keep existing containers as they are, even when their definition changed (a rollout adds beside them). */
  noRecreate?: boolean;
  /** Containers per service (`--scale name=n`): a rollout runs the new release beside the old. */
  scale?: Readonly<Record<string, number>>;
}

export function up(p: ComposeProject, o: UpOptions = {}): string[] {
  const a = [...baseArgs(p), "up", "-d"];
  if (o.wait && p.flavor === "v2") {
    a.push("--wait");
    if (o.waitTimeoutSec) a.push("--wait-timeout", String(o.waitTimeoutSec));
  }
  if (o.noDeps) a.push("--no-deps");
  if (o.forceRecreate) a.push("--force-recreate");
  if (o.noBuild) a.push("--no-build");
  if (o.removeOrphans) a.push("--remove-orphans");
  if (o.noRecreate) a.push("--no-recreate");
  for (const [svc, n] of Object.entries(o.scale ?? {})) a.push("--scale", `${svc}=${n}`);
  return [...a, ...(o.services ?? [])];
}

export function down(p: ComposeProject, o: { volumes?: boolean; removeOrphans?: boolean; timeoutSec?: number } = {}): string[] {
  const a = [...baseArgs(p), "down"];
  if (o.volumes) a.push("--volumes");
  if (o.removeOrphans) a.push("--remove-orphans");
  if (o.timeoutSec !== undefined) a.push("--timeout", String(o.timeoutSec));
  return a;
}

export function pull(p: ComposeProject, services: readonly string[] = [], o: { ignorePullFailures?: boolean } = {}): string[] {
  return [...baseArgs(p), "pull", ...(o.ignorePullFailures ? ["--ignore-pull-failures"] : []), ...services];
}

export function build(p: ComposeProject, services: readonly string[] = []): string[] {
  return [...baseArgs(p), "build", ...services];
}

/** `ps`: v2 prints JSON; v1 can only list ids (`-q`), which the client inspects. */
export function ps(p: ComposeProject, o: { all?: boolean; services?: readonly string[] } = {}): string[] {
  const a = [...baseArgs(p), "ps"];
  if (o.all) a.push("-a");
  a.push(...(p.flavor === "v2" ? ["--format", "json"] : ["-q"]));
  return [...a, ...(o.services ?? [])];
}

/** Container id of one service (v1 fallback for `cp`, health polling). */
export function psQuiet(p: ComposeProject, service: string): string[] {
  return [...baseArgs(p), "ps", "-q", service];
}

export interface ExecOptions {
  user?: string;
  workdir?: string;
  /** Names of variables passed from our environment (`-e NAME`): values never enter argv. */
  envNames?: readonly string[];
}

export function exec(p: ComposeProject, service: string, command: readonly string[], o: ExecOptions = {}): string[] {
  const a = [...baseArgs(p), "exec", "-T"];
  if (o.user) a.push("--user", o.user);
  if (o.workdir) a.push("--workdir", o.workdir);
  for (const n of o.envNames ?? []) a.push("-e", n);
  return [...a, service, ...command];
}

/**
 * Pure: a compose healthcheck `test` as an argv to run with exec (undefined for NONE):
 * ["CMD", a, b] → [a, b]; ["CMD-SHELL", s] or a plain string → ["sh", "-c", s].
 */
export function healthcheckArgv(test: readonly string[] | string | undefined): string[] | undefined {
  if (test === undefined) return undefined;
  if (typeof test === "string") return test.trim() ? ["sh", "-c", test] : undefined;
  const [kind, ...rest] = test;
  if (kind === "CMD" && rest.length) return [...rest];
  if (kind === "CMD-SHELL" && rest.length) return ["sh", "-c", rest.join(" ")];
  return undefined;
}

/** The label Compose puts on every container of a project. */
export const COMPOSE_PROJECT_LABEL = "com.docker.compose.project";

/** Marks claw-ops' own one-off containers (compose run and throwaway drills). */
export const ONE_OFF_LABEL = "ai.claw.ops.oneoff";
/** Names one `compose run` container, so that its time limit can kill it (see ComposeClient.runOnce). */
export const RUN_ID_LABEL = "ai.claw.ops.run";

export function runOnce(
  p: ComposeProject,
  service: string,
  command: readonly string[],
  o: ExecOptions & { entrypoint?: string; noDeps?: boolean; volumes?: readonly string[]; runId?: string } = {},
): string[] {
  // Labelled, so a later run can tell its own leftovers from an operator's `compose run`.
  const a = [...baseArgs(p), "run", "--rm", "-T", "--label", `${ONE_OFF_LABEL}=true`];
  if (o.runId !== undefined) a.push("--label", `${RUN_ID_LABEL}=${o.runId}`);
  if (o.noDeps) a.push("--no-deps");
  if (o.entrypoint !== undefined) a.push("--entrypoint", o.entrypoint);
  if (o.user) a.push("--user", o.user);
  if (o.workdir) a.push("--workdir", o.workdir);
  for (const n of o.envNames ?? []) a.push("-e", n);
  for (const v of o.volumes ?? []) a.push("-v", v);
  return [...a, service, ...command];
}

export function stop(p: ComposeProject, services: readonly string[], o: { timeoutSec?: number } = {}): string[] {
  return [...baseArgs(p), "stop", ...(o.timeoutSec !== undefined ? ["--timeout", String(o.timeoutSec)] : []), ...services];
}

export function start(p: ComposeProject, services: readonly string[]): string[] {
  return [...baseArgs(p), "start", ...services];
}

export function restart(p: ComposeProject, services: readonly string[], o: { timeoutSec?: number } = {}): string[] {
  return [...baseArgs(p), "restart", ...(o.timeoutSec !== undefined ? ["--timeout", String(o.timeoutSec)] : []), ...services];
}

export function logs(p: ComposeProject, services: readonly string[], o: { tail?: number; follow?: boolean; since?: string } = {}): string[] {
  const a = [...baseArgs(p), "logs", "--no-color"];
  if (o.tail !== undefined) a.push("--tail", String(o.tail));
  if (o.since) a.push("--since", o.since);
  if (o.follow) a.push("--follow");
  return [...a, ...services];
}

/** `cp` (v2 only): `service:path` ↔ local path. */
export function cp(p: ComposeProject, from: string, to: string): string[] {
  return [...baseArgs(p), "cp", from, to];
}

export function config(p: ComposeProject, o: { quiet?: boolean } = {}): string[] {
  return [...baseArgs(p), "config", ...(o.quiet ? ["--quiet"] : [])];
}

/** The project as Compose resolves it (interpolated), as JSON: it holds secrets, never print it. */
export function configJson(p: ComposeProject): string[] {
  return [...baseArgs(p), "config", "--format", "json"];
}

/**
 * Pure: whether a container (its `docker inspect` Config and image id) runs a service as the
 * resolved model defines it: the same image reference, the same image id behind it, and every
 * environment variable of the model with the same value. (`compose config --hash` would be the
 * natural test, but Compose 2.26 computes it differently from `up`.)
 */
export function runsDefinition(
  want: { image: string; imageId: string; environment: Readonly<Record<string, string | null>> },
  have: { image: string; imageId: string; env: readonly string[] },
): boolean {
  if (have.image !== want.image || have.imageId !== want.imageId) return false;
  const env = new Set(have.env);
  return Object.entries(want.environment).every(([k, v]) => v === null || env.has(`${k}=${v}`));
}

export type Health = "healthy" | "unhealthy" | "starting" | "none";

export interface ContainerState {
  service: string;
  name: string;
  id: string;
  state: string; // running, exited, …
  health: Health;
  exitCode: number;
}

function asHealth(h: unknown): Health {
  return h === "healthy" || h === "unhealthy" || h === "starting" ? h : "none";
}

/**
 * Parse `docker compose ps --format json`. Compose ≥ 2.21 prints one JSON object per
 * line; earlier v2 releases print one JSON array. Both are accepted.
 */
export function parsePsJson(text: string): ContainerState[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const rows: Record<string, unknown>[] = trimmed.startsWith("[")
    ? (JSON.parse(trimmed) as Record<string, unknown>[])
    : trimmed
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>);
  return rows.map((r) => ({
    service: String(r.Service ?? ""),
    name: String(r.Name ?? ""),
    id: String(r.ID ?? ""),
    state: String(r.State ?? ""),
    health: asHealth(r.Health),
    exitCode: Number(r.ExitCode ?? 0),
  }));
}

/** Parse `docker inspect` output (the v1 path of `ps`). */
export function parseInspect(text: string): ContainerState[] {
  const rows = JSON.parse(text) as Array<{
    Id: string;
    Name: string;
    Config?: { Labels?: Record<string, string> };
    State?: { Status?: string; ExitCode?: number; Health?: { Status?: string } };
  }>;
  return rows.map((r) => ({
    service: r.Config?.Labels?.["com.docker.compose.service"] ?? "",
    name: r.Name.replace(/^\//, ""),
    id: r.Id.slice(0, 12),
    state: r.State?.Status ?? "",
    health: asHealth(r.State?.Health?.Status),
    exitCode: r.State?.ExitCode ?? 0,
  }));
}
