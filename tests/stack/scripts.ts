/** Running the real scripts against a test stack, exactly as an operator (or cron) would. */
import { type ChildProcess, spawn } from "node:child_process";
import { REPO_ROOT, type TestStack } from "./harness.ts";

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
  const child = spawn("npx", ["zx", `scripts/${script}.mts`, ...args], {
    cwd: REPO_ROOT,
    env: stack.scriptEnv,
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
