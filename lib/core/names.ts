/**
 * Names that come from outside this process (an image, a manifest, a ledger, the database)
 * and reach a path, an argv or an environment: each kind has one strict rule, checked here
 * before use. A name that breaks it is refused, never cleaned up.
 */

/** An Alembic revision id as claw-ops accepts it: letters, digits, `_` (no `/`, no `..`). */
export const REVISION_ID = /^[A-Za-z0-9_]{1,64}$/;

/** A release tag, as Docker allows one (and CLAW_AI_TAG's rule). */
export const RELEASE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Pure: the names of `values` that break `rule` (an empty list when all are fine). */
export function badNames(rule: RegExp, values: Iterable<string>): string[] {
  return [...values].filter((v) => typeof v !== "string" || !rule.test(v));
}
