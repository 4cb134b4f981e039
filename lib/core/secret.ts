/**
 * Secrets print as [REDACTED] wherever they end up (template strings, JSON, inspect), and
 * every registered secret value is masked in anything the output module writes.
 */
import { inspect } from "node:util";

export const REDACTED = "[REDACTED]";
const known = new Set<string>();
/** What redact() looks for: every known value and its URL-encoded form, longest first; made once per change of `known`. */
let masks: string[] | undefined;
function remember(value: string): void {
  if (value.length < 4 || known.has(value)) return;
  known.add(value);
  masks = undefined;
}

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    // Very short values would mask ordinary words; they are refused by env validation anyway.
    remember(value);
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Mask every known secret value in a piece of text, also as it appears URL-encoded (in a
 * connection string or a URL); longest first, so overlaps stay masked. Row values PostgreSQL
 * quotes in an error's DETAIL (`Key (email)=(a@b.c) already exists`, `Failing row contains
 * (1, null, a@b.c).`) are data, not ours to log or send: masked too.
 */
export function redact(text: string): string {
  let out = text
    .replace(PG_DETAIL_VALUES, (_all, cols: string) => `Key (${cols})=(${REDACTED})`)
    .replace(PG_FAILING_ROW, `Failing row contains (${REDACTED})`);
  masks ??= [...new Set([...known].flatMap((v) => [v, encodeURIComponent(v)]))].sort((a, b) => b.length - a.length);
  for (const value of masks) if (out.includes(value)) out = out.split(value).join(REDACTED);
  return out;
}

/** PostgreSQL's `DETAIL:  Key (col, …)=(value, …)` of a unique or foreign-key violation. */
const PG_DETAIL_VALUES = /Key \(([^)]*)\)=\((?:[^()]|\([^()]*\))*\)/g;
/**
 * PostgreSQL's `DETAIL:  Failing row contains (…).` of a not-null or check violation: the whole
 * row, unquoted, so a value may hold an unbalanced `)`; up to the line's last one, then.
 */
const PG_FAILING_ROW = /Failing row contains \(.*\)/g;

export const EMAIL_MASK = "<email>";
/**
 * An e-mail address (a dotted domain ending in letters: `image@sha256:…`, `pkg@1.2.3` are not);
 * not the user of a URL (`https://ops@minio.example.com`), whose host the operator needs.
 */
const EMAIL =
  /(?<![\p{L}\p{N}_.%+-])[\p{L}\p{N}_.%+-]+@(?<!:\/\/[^\s/@]*@)[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.\p{L}+(?![\p{L}\p{N}_-])/gu;

/**
 * redact(), and the e-mail addresses an app's logs and a database's errors carry: for other
 * people's data on its way to where it is kept or sent (a failing container's evidence, the
 * ledgers' errors, the webhook's reason). Not for all output: the operator's own address
 * (DEPLOY_EMAIL in certbot's argv, in a refusal, in MAILTO) stays readable.
 */
export function redactPersonal(text: string): string {
  return redact(text).replace(EMAIL, EMAIL_MASK);
}

/**
 * JSON with every known secret masked in each string before it is escaped: masking the
 * serialised text would miss a secret holding `"` or `\\`, which JSON escapes.
 */
export function redactedJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "string" ? redact(v) : v), space);
}

/** Register a value that is not wrapped in a Secret (e.g. read from a file) for masking. */
export function registerSecretValue(value: string): void {
  remember(value);
}
