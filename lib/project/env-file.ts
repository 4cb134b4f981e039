/**
 * A first `.env.prod`, planned from the template: every password and key claw-ops can make
 * is generated (32 random bytes, hex: the guide's `openssl rand -hex 32`), the few values only
 * the operator knows are given, and the result must pass the same checks every script runs.
 * Pure: the caller supplies the randomness and writes the file.
 */

import { parse } from "dotenv";
import { msg } from "../core/i18n/index.ts";
import { validateEnv, withEnvValue } from "./env.ts";
import { SETTINGS } from "./settings.ts";

/** What the operator gives: not generated, not in the template as a usable value. */
export const ASKED_KEYS = [
  { key: "DOMAIN", flag: "domain", secret: false, optional: false },
  { key: "DEPLOY_EMAIL", flag: "email", secret: false, optional: true },
  { key: "CLAW_AI_IMAGE", flag: "image", secret: false, optional: false },
  // API keys are secrets: from the environment or a prompt without echo, never from argv.
  { key: "ZHIPUAI_API_KEY", flag: undefined, secret: true, optional: false },
  { key: "PINECONE_API_KEY", flag: undefined, secret: true, optional: false },
] as const;
export type AskedKey = (typeof ASKED_KEYS)[number]["key"];

/** The values given without a prompt: flags, and API keys from the environment (never argv). */
export function givenValues(flags: Readonly<Record<string, unknown>>, environ: NodeJS.ProcessEnv = process.env): Partial<Record<AskedKey, string>> {
  const given: Partial<Record<AskedKey, string>> = {};
  for (const a of ASKED_KEYS) {
    const v = a.flag ? flags[a.flag] : environ[a.key];
    if (typeof v === "string" && v.trim() !== "") given[a.key] = v.trim();
  }
  return given;
}

const PLAIN = /^[A-Za-z0-9_.:/@-]*$/;

/**
 * A value with other characters, single-quoted: dotenv and Compose both read it literally (no
 * `$` interpolation). One with a quote or a line break cannot be written safely: refused.
 */
function quoted(key: string, v: string): string {
  if (/['\n\r]/.test(v)) throw new EnvValueError(key);
  return `'${v}'`;
}

export class EnvValueError extends Error {
  constructor(readonly key: string) {
    super(msg.project.env.unwritableValue({ key }));
  }
}

/** Keys whose value is generated: the table's passwords. */
export const GENERATED_KEYS: readonly string[] = SETTINGS.filter((s) => s.type === "password").map((s) => s.name);

export interface EnvFilePlan {
  text: string;
  generated: string[];
  given: string[];
  /** Problems left (key: problem): a plan with any is not written. */
  problems: Array<{ key: string; problem: string }>;
}

/** Pure: the file from the template, the given values and one fresh secret per generated key. */
export function planEnvFile(template: string, given: Partial<Record<AskedKey, string>>, secret: () => string): EnvFilePlan {
  let text = template;
  const generated: string[] = [];
  for (const key of GENERATED_KEYS) {
    text = withEnvValue(text, key, secret());
    generated.push(key);
  }
  const givenKeys: string[] = [];
  for (const { key } of ASKED_KEYS) {
    const v = given[key];
    if (v === undefined || v === "") continue;
    text = PLAIN.test(v) ? withEnvValue(text, key, v) : setLine(text, key, quoted(key, v));
    givenKeys.push(key);
  }
  const problems = validateEnv(parse(text));
  return { text, generated, given: givenKeys, problems };
}

/** The template's `KEY=` line set to a value withEnvValue would refuse (a quoted one). */
function setLine(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, "m");
  return re.test(text) ? text.replace(re, () => `${key}=${value}`) : `${text.endsWith("\n") ? text : `${text}\n`}${key}=${value}\n`;
}
