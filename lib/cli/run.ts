/**
 * The single exit point of every script (flags are parsed in ./flags.ts).
 * Helpers throw; only `runScript` turns an error into an exit code (after cleanups ran).
 */
import { basename, join } from "node:path";
import { ClawError, ExitCode, FailedWithResult } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { LOG_KEEP_DAYS, pruneLogs } from "../core/logs.ts";
import { Output } from "../core/output.ts";
import { redact } from "../core/secret.ts";
import { projectRoot } from "../project/project.ts";
import { helpText, type ParsedArgs, parseFlags, type ScriptSpec } from "./flags.ts";
import { printFailureResult } from "./result.ts";

export type { ParsedArgs, ScriptSpec } from "./flags.ts";

export interface ScriptContext {
  args: ParsedArgs;
  out: Output;
}

/**
 * The one exit point: parse flags, run the body, map errors to exit codes.
 * Errors print as one line (plus a hint); stacks only with --verbose.
 */
export async function runScript(
  spec: ScriptSpec,
  body: (ctx: ScriptContext) => Promise<number | undefined>,
  o: { argv?: readonly string[]; logDir?: string; logs?: boolean } = {},
): Promise<number> {
  const argv = o.argv ?? scriptArgv(spec.name, process.argv);
  // logs: true → the run's log file goes to <project>/logs.
  const logDir = o.logDir ?? (o.logs ? join(projectRoot(), "logs") : undefined);
  let args: ParsedArgs;
  try {
    args = parseFlags(spec, argv);
  } catch (e) {
    process.stderr.write(`${msg.cli.run.usageLine({ script: spec.name, message: (e as Error).message })}\n`);
    return setExit(e instanceof ClawError ? e.exitCode : ExitCode.usage);
  }
  if (args.flags.help) {
    process.stdout.write(`${helpText(spec)}\n`);
    return setExit(ExitCode.ok);
  }
  const out = new Output({
    script: spec.name.replace(/\.m?ts$/, ""),
    json: Boolean(args.flags.json),
    verbose: Boolean(args.flags.verbose),
    ...(logDir ? { logDir } : {}),
  });
  if (logDir) {
    const pruned = pruneLogs(logDir, new Date());
    if (pruned.remove.length || pruned.rotate.length)
      out.debug(msg.cli.run.logsPruned({ removed: pruned.remove.length, days: LOG_KEEP_DAYS, rotated: pruned.rotate.join(", ") }));
  }
  const onSignal = () => out.warn(msg.cli.run.interrupt);
  process.once("SIGINT", onSignal);
  try {
    const code = (await body({ args, out })) ?? ExitCode.ok;
    return setExit(code);
  } catch (thrown) {
    let e = thrown;
    if (e instanceof FailedWithResult) {
      printFailureResult(out, e.result);
      e = e.failure;
    }
    if (e instanceof ClawError) {
      out.error(e.message);
      if (e.hint) out.info(msg.cli.run.hint({ hint: e.hint }));
      if (out.verbose && e.stack) out.debug(redact(e.stack));
      printFailureResult(out, { ok: false, error: e.message, exitCode: e.exitCode, ...(e.hint ? { hint: e.hint } : {}) });
      return setExit(e.exitCode);
    }
    const err = e as Error;
    out.error(msg.cli.run.unexpected({ message: err?.message ?? String(e) }));
    if (out.verbose && err?.stack) out.debug(redact(err.stack));
    else out.info(msg.cli.run.verboseHint);
    printFailureResult(out, { ok: false, error: err?.message ?? String(e), exitCode: ExitCode.failed });
    return setExit(ExitCode.failed);
  } finally {
    process.removeListener("SIGINT", onSignal);
    if (out.logFile) out.debug(msg.cli.run.logFile({ file: out.logFile }));
    out.close();
  }
}

/** The script's own arguments: under `zx` argv is [node, zx, script, …], under node [node, script, …]. */
export function scriptArgv(scriptName: string, argv: readonly string[]): string[] {
  const i = argv.findIndex((a, n) => n > 0 && basename(a) === scriptName);
  return argv.slice(i > 0 ? i + 1 : 2);
}

function setExit(code: number): number {
  process.exitCode = code;
  return code;
}
