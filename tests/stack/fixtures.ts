/**
 * Lazily-run, memoized fixtures for the end-to-end tests. Each test awaits the fixtures it
 * needs, so it runs alone (`--test-name-pattern`); in a whole-file run a fixture already run
 * by an earlier test is reused, so the full run does no extra work.
 */

/**
 * `fn` runs on the first call only; every call returns that same promise, a rejection too
 * (every test that needs a fixture that failed fails with the fixture's error).
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let memo: Promise<T> | undefined;
  return () => (memo ??= fn());
}
