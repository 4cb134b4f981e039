/**
 * The project a script works on: its root (where docker-compose.prod.yml and .env.prod
 * live), the validated env and its typed configuration, the stack model and a compose client.
 *
 * Compose's own variables are honoured: COMPOSE_FILE (":"-separated) picks the compose
 * files and COMPOSE_PROJECT_NAME the project, exactly as `docker compose` would.
 */
import { basename, isAbsolute, join, resolve } from "node:path";
import type { ComposeFlavor } from "../commands/compose.ts";
import { ComposeClient, detectComposeFlavor, requireDocker } from "../infra/compose-client.ts";
import { type ClawConfig, parseConfig } from "./config.ts";
import { type ClawEnv, loadEnv } from "./env.ts";
import { interpolate, loadStack, type StackModel } from "./stack.ts";

export const DEFAULT_COMPOSE_FILE = "docker-compose.prod.yml";
export const ENV_FILE = ".env.prod";

export interface Project {
  root: string;
  /** The compose project name in effect: COMPOSE_PROJECT_NAME, the file's `name:`, or the directory. */
  effectiveName: string;
  envFile: string;
  composeFiles: string[];
  projectName: string | undefined;
  /** The raw values, for Compose-style interpolation only; settings are read from `config`. */
  env: ClawEnv;
  config: ClawConfig;
  stack: StackModel;
  compose: ComposeClient;
}

/** The claw-ops checkout: the directory holding scripts/, lib/ and node_modules/. */
export const repoRoot = (): string => resolve(import.meta.dirname, "..", "..");

/** The project: the checkout itself, unless CLAW_OPS_PROJECT_DIR says otherwise. */
export function projectRoot(environ: NodeJS.ProcessEnv = process.env): string {
  return resolve(environ.CLAW_OPS_PROJECT_DIR ?? repoRoot());
}

/**
 * A variable as this project's compose files are interpolated with it: `.env.prod`'s value,
 * else the shell's. For Compose-style interpolation only; settings are read from `config`.
 */
export function composeVariable(project: Pick<Project, "env">, name: string, environ: NodeJS.ProcessEnv = process.env): string | undefined {
  return project.env.get(name) ?? environ[name];
}

/** Pure: compose files for a root, from COMPOSE_FILE or the default. */
export function composeFiles(root: string, composeFileVar: string | undefined): string[] {
  const names = composeFileVar ? composeFileVar.split(":").filter(Boolean) : [DEFAULT_COMPOSE_FILE];
  return names.map((n) => (isAbsolute(n) ? n : join(root, n)));
}

export async function openProject(o: { root?: string; flavor?: ComposeFlavor; environ?: NodeJS.ProcessEnv } = {}): Promise<Project> {
  const environ = o.environ ?? process.env;
  const root = o.root ?? projectRoot(environ);
  const envFile = join(root, ENV_FILE);
  const env = loadEnv(envFile);
  const config = parseConfig((k) => env.get(k), environ);
  const files = composeFiles(root, environ.COMPOSE_FILE);
  const stack = loadStack(files);
  await requireDocker();
  const flavor = o.flavor ?? (await detectComposeFlavor());
  const projectName = environ.COMPOSE_PROJECT_NAME || undefined;
  // Compose's own order: -p / the shell's COMPOSE_PROJECT_NAME, then the env file's, then `name:`, then the directory.
  const effectiveName =
    projectName ??
    (env.get("COMPOSE_PROJECT_NAME") || undefined) ??
    stack.name ??
    basename(root)
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, "");
  const compose = new ComposeClient(
    { flavor, files, envFile, projectDir: root, ...(projectName ? { projectName } : {}) },
    // Interpolated as Compose does ($$ → $), so the probe runs exactly what Docker runs.
    Object.fromEntries(
      stack.services.map((s) => {
        const t = s.healthcheck?.test;
        const i = (x: string) => interpolate(x, (k) => composeVariable({ env }, k, environ));
        return [s.name, t === undefined ? undefined : typeof t === "string" ? i(t) : t.map(i)];
      }),
    ),
    {},
    effectiveName,
  );
  return { root, effectiveName, envFile, composeFiles: files, projectName, env, config, stack, compose };
}
