/**
 * The kinds of setting `.env.prod` holds. Each kind knows the rule a value must pass when the
 * file is loaded (format, length, placeholders) and the typed value it gives when read, with
 * refusals that name the key. The table of settings (settings.ts) is made of these.
 */
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { Secret } from "../core/secret.ts";

/** A value of `.env.prod` by key (undefined: not set). */
export type EnvGetter = (key: string) => string | undefined;

/** Who reads a setting: `compose` (the compose file hands it to the containers) or that section of `project.config`. */
export type Section =
  | "compose"
  | "release"
  | "postgres"
  | "flower"
  | "deploy"
  | "migrate"
  | "retention"
  | "snapshotRetention"
  | "snapshotInPlace"
  | "encryption"
  | "offsite"
  | "notify";

export type SettingType = "string" | "password" | "secret" | "int" | "duration" | "enum" | "bool" | "url" | "list" | "argv";

export interface Setting<N extends string = string, T = unknown, D extends boolean = boolean> {
  readonly name: N;
  readonly type: SettingType;
  /** The type as the README shows it (`int ≥ 1`, `warn | strict`). */
  readonly shape: string;
  /** One line of documentation (the README's table). */
  readonly doc: string;
  readonly sections: readonly Section[];
  /** `.env.prod` must set it: a missing one is refused when the file is loaded. */
  readonly required: boolean;
  /** Masked wherever it could be printed. */
  readonly secret: boolean;
  /** The default as `.env.prod` spells it (the template holds exactly this). */
  readonly default: string | undefined;
  readonly hasDefault: D;
  /** What applies when unset, for a default that is no value of its own: another key's, or what is done instead. */
  readonly derivedDefault: string | undefined;
  /** The shell's environment wins over `.env.prod` for one run (`MIGRATE_LOCK_TIMEOUT=30s …`), through the same checks. */
  readonly shell: boolean;
  /** What a value must look like: checked when `.env.prod` is loaded, and on a shell override. */
  readonly format: RegExp | undefined;
  readonly minLength: number | undefined;
  /** Values that are placeholders for this key in particular (besides the generic ones). */
  readonly placeholders: readonly string[];
  /** The typed value of a value that is set (not blank); a refusal names the key. */
  readonly parse: (raw: string) => T;
}

/** What every kind takes. */
export interface Common {
  doc: string;
  sections: readonly Section[];
  required?: boolean;
  secret?: boolean;
  default?: string;
  derivedDefault?: string;
  shell?: boolean;
  format?: RegExp;
  minLength?: number;
  placeholders?: readonly string[];
}

type HasDefault<O> = O extends { default: string } ? true : false;
/** The value a kind gives: its own, or that of the setting's own `parse`. */
type Parsed<O, T> = O extends { parse: (raw: string) => infer R } ? R : T;
type Own<T> = { parse?: (raw: string) => T };

export const keyProblem = (key: string, problem: string, hint?: string) =>
  new PreconditionError(msg.project.config.keyProblem({ key, problem }), hint);

function make<N extends string, T, O extends Common>(
  name: N,
  type: SettingType,
  shape: string,
  o: O,
  parse: (raw: string) => T,
): Setting<N, T, HasDefault<O>> {
  return {
    name,
    type,
    shape,
    doc: o.doc,
    sections: o.sections,
    required: o.required ?? false,
    secret: o.secret ?? false,
    default: o.default,
    hasDefault: (o.default !== undefined) as HasDefault<O>,
    derivedDefault: o.derivedDefault,
    shell: o.shell ?? false,
    format: o.format,
    minLength: o.minLength,
    placeholders: o.placeholders ?? [],
    parse,
  };
}

/** Text, as written. */
export const text = <const N extends string, const O extends Common & Own<string>>(name: N, o: O) =>
  make<N, Parsed<O, string>, O>(name, "string", "string", o, (o.parse ?? ((raw: string) => raw)) as (raw: string) => Parsed<O, string>);

/** A password init-env generates (32 random bytes, hex): required, secret, at least 12 characters. */
export const password = <const N extends string, const O extends Common>(name: N, o: O) =>
  make<N, Secret, O>(name, "password", "password", { required: true, minLength: 12, ...o, secret: true }, (raw) => new Secret(raw));

/** A secret the operator gives (an API key, an access key). */
export const secret = <const N extends string, const O extends Common & Own<Secret>>(name: N, o: O) =>
  make<N, Secret, O>(name, "secret", "secret", { ...o, secret: true }, o.parse ?? ((raw) => new Secret(raw)));

export type IntUnit = keyof typeof msg.project.config.units;

export interface IntOptions extends Common {
  min?: number;
  max?: number;
  /** Refused as "a positive whole number of <unit>" with the hint `hint` (else: set the default). */
  unit?: IntUnit;
  hint?: () => string;
  /** A refusal of the setting's own. */
  refusal?: () => PreconditionError;
}

/** A whole number (digits only) from `min` (0) to `max`. */
export function int<const N extends string, const O extends IntOptions>(name: N, o: O): Setting<N, number, HasDefault<O>> {
  const min = o.min ?? 0;
  const shape = o.max !== undefined ? `int ${min}-${o.max}` : min > 0 ? `int ≥ ${min}` : "int";
  return make(name, "int", shape, { format: min > 0 ? /^[1-9]\d*$/ : /^\d+$/, ...o }, (raw) => {
    const v = raw.trim();
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (Number.isSafeInteger(n) && n >= min && (o.max === undefined || n <= o.max)) return n;
    if (o.refusal) throw o.refusal();
    if (!o.unit) throw keyProblem(name, msg.project.config.problems.wholeNumber({ min }));
    const hint = o.hint ? o.hint() : msg.project.config.defaultHint({ key: name, n: Number(o.default) });
    throw new PreconditionError(msg.project.config.positiveWhole({ key: name, unit: msg.project.config.units[o.unit] }), hint);
  });
}

/** A PostgreSQL duration: digits with one of `units` (none: milliseconds), as lock_timeout takes it. */
export const duration = <const N extends string, const O extends Common>(name: N, units: readonly string[], o: O) =>
  make<N, string, O>(name, "duration", `duration (${units.join(", ")})`, { format: new RegExp(`^\\d+(${units.join("|")})?$`), ...o }, (raw) => raw);

/** One of `values`, spelled exactly. */
export const oneOf = <const N extends string, const V extends readonly string[], const O extends Common>(name: N, values: V, o: O) =>
  make<N, V[number], O>(name, "enum", values.join(" | "), { format: new RegExp(`^(${values.join("|")})$`), ...o }, (raw) => {
    if (values.includes(raw)) return raw as V[number];
    throw keyProblem(name, msg.project.config.problems.oneOf({ values }));
  });

const YES = ["yes", "true", "1"];
const NO = ["no", "false", "0"];

/** yes or no (also true/false, 1/0, in any case); with `words`, exactly those two. */
export function bool<const N extends string, const O extends Common & { words?: readonly [string, string] }>(
  name: N,
  o: O,
): Setting<N, boolean, HasDefault<O>> {
  const words = o.words;
  if (words) {
    return make(name, "bool", words.join(" | "), { format: new RegExp(`^(${words.join("|")})$`), ...o }, (raw) => {
      if (words.includes(raw)) return raw === words[0];
      throw keyProblem(name, msg.project.config.problems.oneOf({ values: words }));
    });
  }
  return make(name, "bool", "yes | no", { format: /^(yes|no|true|false|1|0)$/i, ...o }, (raw) => {
    const v = raw.trim().toLowerCase();
    if (YES.includes(v)) return true;
    if (NO.includes(v)) return false;
    throw keyProblem(
      name,
      msg.project.config.problems.yesOrNo({ value: JSON.stringify(raw) }),
      msg.project.config.yesNoHint({ key: name, dflt: o.default ?? "no" }),
    );
  });
}

/** An http(s) URL. */
export const url = <const N extends string, const O extends Common & Own<string>>(name: N, o: O) =>
  make<N, string, O>(name, "url", "url", { format: /^https?:\/\//, ...o }, o.parse ?? ((raw) => raw));

/** Comma-separated names (blanks around them dropped). */
export const list = <const N extends string, const O extends Common & Own<readonly string[]>>(name: N, o: O) =>
  make<N, Parsed<O, string[]>, O>(
    name,
    "list",
    "list",
    o,
    (o.parse ??
      ((raw: string) =>
        raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean))) as (raw: string) => Parsed<O, string[]>,
  );

/** A command as argv, split on blanks (no shell). */
export const argv = <const N extends string, const O extends Common>(name: N, o: O) =>
  make<N, string[], O>(name, "argv", "command", o, (raw) => raw.trim().split(/\s+/));

/** Template values that must never reach production. */
export function isPlaceholder(s: Pick<Setting, "secret" | "placeholders">, value: string): boolean {
  const v = value.trim().toLowerCase();
  return (
    v.includes("change_this") ||
    v.includes("changeme") ||
    v.startsWith("your_") ||
    v.startsWith("your-") ||
    (s.secret && (v === "password" || v === "secret")) ||
    s.placeholders.includes(v)
  );
}

/** Pure: what is wrong with a value that is set (a placeholder, too short, the wrong format), or undefined. */
export function valueProblem(s: Setting, value: string): string | undefined {
  if (isPlaceholder(s, value)) return msg.project.env.problems.placeholder;
  if (s.minLength && value.length < s.minLength) return msg.project.env.problems.tooShort({ min: s.minLength });
  if (s.format && !s.format.test(value)) return msg.project.env.problems.badFormat;
  return undefined;
}

const blank = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";

/**
 * A setting's typed value: the shell's (for a `shell` setting, checked as `.env.prod`'s was
 * when it was loaded), else `.env.prod`'s, else the default; undefined when none applies.
 */
export function readSetting<T>(s: Setting<string, T>, get: EnvGetter, environ: NodeJS.ProcessEnv): T | undefined {
  const override = s.shell ? environ[s.name] : undefined;
  if (!blank(override)) {
    const problem = valueProblem(s, override);
    if (problem) throw keyProblem(s.name, problem);
    return s.parse(override);
  }
  const raw = get(s.name);
  if (!blank(raw)) return s.parse(raw);
  return s.default === undefined ? undefined : s.parse(s.default);
}
