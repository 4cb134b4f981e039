/** Flag specs, parsing and help text of the scripts. Pure. */
import { parseArgs } from "node:util";
import { exitCodesHelp, UsageError } from "../core/errors.ts";
import { displayWidth, msg, padCells } from "../core/i18n/index.ts";

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
  help: { type: "boolean", short: "h", description: msg.cli.flags.help },
  json: { type: "boolean", description: msg.cli.flags.json },
  verbose: { type: "boolean", description: msg.cli.flags.verbose },
};

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Pure: parse argv against a spec; any problem is a one-line UsageError. */
export function parseFlags(spec: ScriptSpec, argv: readonly string[]): ParsedArgs {
  const all = { ...COMMON_FLAGS, ...spec.flags };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, f]) => [
      name,
      { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    const text = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(text);
    if (unknown) throw new UsageError(msg.cli.flags.unknown({ flag: unknown[1]! }));
    const missing = /Option '([^']+)' argument missing/.exec(text);
    if (missing) throw new UsageError(msg.cli.flags.needsValue({ flag: missing[1]!.replace(/^-\w, /, "").replace(/ <value>$/, "") }));
    throw new UsageError(text.split("\n")[0] ?? text);
  }
  const max = spec.positionals?.max ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(msg.cli.flags.unexpectedArgument({ arg: JSON.stringify(parsed.positionals[max]) }));
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
  const width = Math.max(...rows.map(([l]) => displayWidth(l))) + 2;
  const lines = [
    `${spec.name} — ${spec.summary}`,
    "",
    msg.cli.flags.usage,
    ...spec.usage.map((u) => `  ${u}`),
    "",
    msg.cli.flags.options,
    ...rows.map(([l, d]) => `  ${padCells(l, width)}${d}`),
  ];
  if (spec.examples?.length) lines.push("", msg.cli.flags.examples, ...spec.examples.map((e) => `  ${e}`));
  lines.push("", exitCodesHelp());
  return lines.join("\n");
}
