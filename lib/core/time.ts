/** Durations used across the scripts, named once. */
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** Upper bound for a command that moves a whole data set (a dump, a volume tar, a decryption). */
export const DATA_COMMAND_TIMEOUT_MS = 6 * HOUR_MS;
/** How long a service may take to become ready again after the scripts started it. */
export const SERVICE_READY_TIMEOUT_MS = 5 * MINUTE_MS;

/** Pure: a Compose/Go duration ("30s", "1m30s", "500ms", "2h") in ms; undefined if it is not one. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!t) return undefined;
  const units: Record<string, number> = { h: HOUR_MS, m: MINUTE_MS, s: SECOND_MS, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  let rest = t;
  const re = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/;
  while (rest) {
    const m = re.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
