/**
 * Flag parsing, help text and the single exit point of every script.
 * Helpers throw; only `runScript` turns an error into an exit code (after cleanups ran).
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { ClawError, ExitCode, UsageError } from "../core/errors.ts";
import { Output } from "../core/output.ts";
import { redact } from "../core/secret.ts";

export interface FlagSpec {
  type: "boolean" | "string";
  short?: string;
  description: string;
  /** Shown in help as `--flag <value>`. */
  value?: string;
  multiple?: boolean;
}

export interface ScriptSpec {
  name: string;
  summary: string;
  usage: readonly string[];
  flags: Readonly<Record<string, FlagSpec>>;
  positionals?: { name: string; description: string; max: number };
  examples?: readonly string[];
}

/** Flags every script has. */
export const COMMON_FLAGS: Readonly<Record<string, FlagSpec>> = {
  help: { type: "boolean", short: "h", description: "show this help" },
  json: { type: "boolean", description: "print the result as JSON on stdout" },
  verbose: { type: "boolean", description: "log every command run, and stack traces" },
};

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Pure: parse argv against a spec; any problem is a one-line UsageError. */
export function parseFlags(spec: ScriptSpec, argv: readonly string[]): ParsedArgs {
  const all = { ...COMMON_FLAGS, ...spec.flags };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, f]) => [name, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]}`);
    const missing = /Option '([^']+)' argument missing/.exec(msg);
    if (missing) throw new UsageError(`flag ${missing[1]!.replace(/^-\w, /, "")} needs a value`);
    throw new UsageError(msg.split("\n")[0] ?? msg);
  }
  const max = spec.positionals?.max ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  }
  return { flags: parsed.values as ParsedArgs["flags"], positionals: parsed.positionals };
}

export function helpText(spec: ScriptSpec): string {
  const all = { ...spec.flags, ...COMMON_FLAGS };
  const rows = Object.entries(all).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : "    "}--${name}${f.value ? ` <${f.value}>` : ""}`;
    return [left, f.description] as const;
  });
  if (spec.positionals) rows.unshift([`    <${spec.positionals.name}>`, spec.positionals.description]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = [
    `${spec.name} — ${spec.summary}`,
    "",
    "Usage:",
    ...spec.usage.map((u) => `  ${u}`),
    "",
    "Options:",
    ...rows.map(([l, d]) => `  ${l.padEnd(width)}${d}`),
  ];
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  lines.push("", "Exit codes: 0 ok, 1 failed, 2 usage, 3 precondition, 4 lock held, 5 invalid backup, 130 cancelled.");
  return lines.join("\n");
}

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
  body: (ctx: ScriptContext) => Promise<number | void>,
  o: { argv?: readonly string[]; logDir?: string } = {},
): Promise<number> {
  const argv = o.argv ?? scriptArgv(spec.name, process.argv);
  let args: ParsedArgs;
  try {
    args = parseFlags(spec, argv);
  } catch (e) {
    process.stderr.write(`${spec.name}: ${(e as Error).message} (see --help)\n`);
    return setExit(e instanceof ClawError ? e.exitCode : ExitCode.usage);
  }
  if (args.flags.help) {
    process.stdout.write(helpText(spec) + "\n");
    return setExit(ExitCode.ok);
  }
  const out = new Output({
    script: spec.name.replace(/\.m?ts$/, ""),
    json: Boolean(args.flags.json),
    verbose: Boolean(args.flags.verbose),
    ...(o.logDir ? { logDir: o.logDir } : {}),
  });
  const onSignal = () => out.warn("interrupt received: finishing the current step and cleaning up (Ctrl-C again aborts at once)");
  process.once("SIGINT", onSignal);
  try {
    const code = (await body({ args, out })) ?? ExitCode.ok;
    return setExit(code);
  } catch (e) {
    if (e instanceof ClawError) {
      out.error(e.message);
      if (e.hint) out.info(`hint: ${e.hint}`);
      if (out.verbose && e.stack) out.debug(redact(e.stack));
      if (out.json) out.result({ ok: false, error: e.message, exitCode: e.exitCode, ...(e.hint ? { hint: e.hint } : {}) });
      return setExit(e.exitCode);
    }
    const err = e as Error;
    out.error(`unexpected error: ${err?.message ?? String(e)}`);
    if (out.verbose && err?.stack) out.debug(redact(err.stack));
    else out.info("hint: run again with --verbose for details");
    if (out.json) out.result({ ok: false, error: err?.message ?? String(e), exitCode: ExitCode.failed });
    return setExit(ExitCode.failed);
  } finally {
    process.removeListener("SIGINT", onSignal);
    if (out.logFile) out.debug(`log file: ${out.logFile}`);
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
