/** squawk, the PostgreSQL migration linter (npm squawk-cli), as argv. Pure. */

/** Lint SQL files with the JSON reporter, leaving out `exclude` rules. */
export function squawkJson(binary: string, files: readonly string[], exclude: readonly string[] = []): string[] {
  return [binary, "--reporter", "json", ...(exclude.length ? ["--exclude", exclude.join(",")] : []), ...files];
}
