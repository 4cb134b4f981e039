/**
 * `.env.prod`: loaded with dotenv (parse only: nothing leaks into process.env), checked
 * against the table of settings (settings.ts). Problems name the key, never the value.
 */
import { readFileSync, statSync } from "node:fs";
import { parse } from "dotenv";
import { PreconditionError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import { registerSecretValue } from "../core/secret.ts";
import { type Setting, valueProblem } from "./setting-types.ts";
import { SETTINGS } from "./settings.ts";

export interface EnvProblem {
  key: string;
  problem: string;
}

/** Pure: every problem in a parsed env, by key, in the table's order. */
export function validateEnv(values: Readonly<Record<string, string>>, settings: readonly Setting[] = SETTINGS): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const s of settings) {
    const value = values[s.name];
    if (value === undefined || value.trim() === "") {
      if (s.required) problems.push({ key: s.name, problem: msg.project.env.problems.missing });
      continue;
    }
    const problem = valueProblem(s, value);
    if (problem) problems.push({ key: s.name, problem });
  }
  return problems;
}

/**
 * Pure: values that Compose would read differently from us (dotenv), by key. Compose keeps a
 * `#` that no blank precedes (`PW=ab#cd` is `ab#cd` to Compose, `ab` to dotenv) and expands
 * `$NAME` in unquoted and double-quoted values: the containers would get another value than
 * the one we check and mask. Single quotes mean the same, literally, to both.
 */
export function composeDisagreements(text: string): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, raw] = m as unknown as [string, string, string];
    if (raw.startsWith("'")) continue;
    const quoted = raw.startsWith('"');
    const value = quoted ? raw.slice(1) : raw.split(/\s#/)[0]!;
    // In double quotes Compose decodes backslash escapes and dotenv keeps them as they are.
    if (quoted && value.includes("\\"))
      problems.push({
        key,
        problem: msg.project.env.problems.backslashInDoubleQuotes,
      });
    else if (/\$/.test(quoted ? value.slice(0, Math.max(0, value.lastIndexOf('"'))) : value))
      problems.push({ key, problem: msg.project.env.problems.dollar });
    else if (!quoted && value.includes("#")) problems.push({ key, problem: msg.project.env.problems.hash });
  }
  return problems;
}

export class ClawEnv {
  constructor(
    readonly file: string,
    private readonly values: Readonly<Record<string, string>>,
  ) {
    for (const s of SETTINGS) if (s.secret && values[s.name]) registerSecretValue(values[s.name]!);
  }
  /** The raw value, for Compose-style interpolation; settings are read typed from project.config. */
  get(name: string): string | undefined {
    return this.values[name];
  }
}

/** Load and validate `.env.prod`. Throws a PreconditionError that names keys, never values. */
export function loadEnv(file: string, o: { validate?: boolean } = {}): ClawEnv {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new PreconditionError(msg.project.env.notFound({ file }), msg.project.env.notFoundHint);
  }
  if ((mode & 0o077) !== 0) {
    throw new PreconditionError(msg.project.env.readableByOthers({ file, mode: (mode & 0o777).toString(8) }), `chmod 600 ${file}`);
  }
  const text = readFileSync(file, "utf8");
  const values = parse(text);
  const env = new ClawEnv(file, values);
  if (o.validate !== false) {
    const problems = [...composeDisagreements(text), ...validateEnv(values)];
    if (problems.length > 0) {
      const first = problems[0]!;
      const more = problems.slice(1).map((p) => p.key);
      throw new PreconditionError(msg.project.env.invalid({ file, key: first.key, problem: first.problem, more }), msg.project.env.invalidHint);
    }
  }
  return env;
}

/**
 * Pure: the env file text with `key` set to `value` (a plain token: no quoting needed). The
 * last line that sets it is replaced in place (dotenv and Compose both take the last), every
 * other byte is kept; without one, the line is appended.
 */
export function withEnvValue(text: string, key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || !/^[A-Za-z0-9_.:/@-]*$/.test(value)) throw new Error(msg.project.env.notPlainAssignment({ key }));
  const lines = text.split("\n");
  const re = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`);
  let at = -1;
  lines.forEach((l, i) => {
    if (re.test(l)) at = i;
  });
  if (at >= 0) {
    lines[at] = `${key}=${value}${lines[at]!.endsWith("\r") ? "\r" : ""}`;
    return lines.join("\n");
  }
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${body}${key}=${value}\n`;
}

/** Set one key of the env file in place: atomic replace, mode 0600 kept. */
export function setEnvValue(file: string, key: string, value: string): void {
  writeFileAtomic(file, withEnvValue(readFileSync(file, "utf8"), key, value), 0o600);
}
