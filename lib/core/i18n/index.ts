/**
 * The operator's language. Every user-facing string comes from one typed catalogue per
 * language (./en.ts, ./zh.ts); zh is typed as `Catalogue` (en's shape), so a key missing from
 * either is a compile error. Messages with values are functions of a named-parameter object,
 * so each language puts the values where its word order wants them.
 *
 * The language: CLAW_OPS_LANG, else the first set of LC_ALL, LC_MESSAGES, LANG (POSIX order);
 * `zh…` → Simplified Chinese, anything else → English. `--json` keys, exit codes and log
 * field names never change with it.
 */
import { en } from "./en.ts";
import { zh } from "./zh.ts";

export type Catalogue = typeof en;
export type Lang = "en" | "zh";

const CATALOGUES: Readonly<Record<Lang, Catalogue>> = { en, zh };

/** Pure: the language an environment asks for. */
export function detectLang(env: NodeJS.ProcessEnv = process.env): Lang {
  const pick = (v: string | undefined): Lang | undefined => {
    if (!v) return undefined;
    return /^zh([_-]|$)/i.test(v.trim()) ? "zh" : "en";
  };
  const explicit = pick(env.CLAW_OPS_LANG);
  if (explicit) return explicit;
  const posix = env.LC_ALL || env.LC_MESSAGES || env.LANG;
  return pick(posix) ?? "en";
}

let current: Lang = detectLang();

/** Switches the language messages are produced in (tests do; a script keeps the one its environment asks for). */
export function setLang(l: Lang): void {
  current = l;
}

/** The catalogue of a language (the English one for what scripts parse, e.g. phase names in --json). */
export function catalogue(l: Lang = current): Catalogue {
  return CATALOGUES[l];
}

/**
 * The current language's catalogue: `msg.backup.done({ dir })`. A live view, so a setLang()
 * after import is honoured.
 */
export const msg: Catalogue = new Proxy({} as Catalogue, {
  get: (_t, key) => CATALOGUES[current][key as keyof Catalogue],
  ownKeys: () => Reflect.ownKeys(CATALOGUES[current]),
  getOwnPropertyDescriptor: (_t, key) => ({ ...Reflect.getOwnPropertyDescriptor(CATALOGUES[current], key), configurable: true }),
});

/**
 * A message in the operator's language plus its English form, for places that show one and
 * record the other (a phase's title on screen, its name in --json).
 */
export interface Localized {
  readonly text: string;
  readonly en: string;
}
export function localized(pick: (c: Catalogue) => string): Localized {
  return { text: pick(CATALOGUES[current]), en: pick(en) };
}

/** Terminal cells a character takes: East Asian Wide and Fullwidth ones take two. */
function cells(cp: number): number {
  if (cp < 0x1100) return 1;
  return (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
    ? 2
    : 1;
}

/** Width of a string in terminal cells (CJK counts two), ANSI colour codes ignored. */
export function displayWidth(s: string): number {
  let w = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is stripped
  for (const ch of s.replace(/\u001b\[[0-9;]*m/g, "")) w += cells(ch.codePointAt(0)!);
  return w;
}

/** padEnd by terminal cells. */
export function padCells(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

/** padStart by terminal cells. */
export function padCellsStart(s: string, width: number): string {
  return " ".repeat(Math.max(0, width - displayWidth(s))) + s;
}
