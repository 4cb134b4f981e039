/**
 * The operator's scripts (scripts/*.mts) and the command that runs one: every command claw-ops
 * advises (in a hint, a printed plan, the lock's "how to finish", a crontab line) is built here.
 */
import { shellQuote } from "../shell.ts";

export const SCRIPTS = Object.freeze({
  backup: "backup.mts",
  rollback: "rollback.mts",
  deploy: "deploy.mts",
  migrate: "migrate.mts",
  initEnv: "init-env.mts",
} as const);
export type ScriptName = (typeof SCRIPTS)[keyof typeof SCRIPTS];

/** `npx zx scripts/<script>`: how an operator runs a script, from the claw-ops checkout. */
export const scriptCommand = (script: ScriptName): string => `npx zx scripts/${script}`;

/** Pure: `npx zx scripts/<script> <args>`, each argument quoted for sh only when it needs it. */
export function operatorCommand(script: ScriptName, args: readonly string[] = []): string {
  return [scriptCommand(script), ...args.map((a) => shellQuote(a))].join(" ");
}
