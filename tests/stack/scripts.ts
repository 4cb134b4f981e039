/** Running the real scripts against a test stack, exactly as an operator (or cron) would. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, type TestStack } from "./harness.ts";

/**
 * What `npx zx` runs, without npx: zx's CLI under the node options of the project's .npmrc
 * (tsx among them), exactly as npx would start it. npx itself costs about a second of CPU a
 * run, and the suite runs the scripts a few hundred times; the newcomer suite keeps running
 * them the operator's way (`./scripts/<name>.mts`, whose shebang is `npx zx`).
 */
const ZX_CLI = join(REPO_ROOT, "node_modules/zx/build/cli.js");
const NODE_OPTIONS = (/^node-options=(.*)$/m.exec(readFileSync(join(REPO_ROOT, ".npmrc"), "utf8"))?.[1] ?? "").split(/\s+/).filter(Boolean);

function withoutNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _, ...rest } = env;
  return rest;
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function startScript(
  stack: TestStack,
  script: string,
  args: string[],
): { child: ChildProcess; done: Promise<ScriptRun>; output: () => string } {
  const child = spawn(process.execPath, [...NODE_OPTIONS, ZX_CLI, `scripts/${script}.mts`, ...args], {
    cwd: REPO_ROOT,
    // The options go on the command line, once (npm test exports them as NODE_OPTIONS too).
    env: withoutNodeOptions(stack.scriptEnv),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<ScriptRun>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

export function runScript(stack: TestStack, script: string, args: string[]): Promise<ScriptRun> {
  return startScript(stack, script, args).done;
}

/** For assertion messages: the last lines a run printed. */
export const tailOf = (r: ScriptRun, n = 15) => `exit ${r.status}\n${(r.stdout + r.stderr).trim().split("\n").slice(-n).join("\n")}`;
