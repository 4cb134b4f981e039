/**
 * The result printer: a `--json` run's one machine-readable document on stdout. Only the CLI
 * prints results (lib/ below it returns outcomes); dependency-cruiser holds every other layer
 * to that, and the document is written at most once (run.ts prints a failure's only when none
 * was written).
 */
import type { Output } from "../core/output.ts";
import { redactedJson } from "../core/secret.ts";

export function printResult(out: Output, value: unknown): void {
  if (!out.json) return;
  out.resultWritten = true;
  process.stdout.write(`${redactedJson(value, 2)}\n`);
}

/** A failed run's document, unless the run printed its own already (stdout holds one document). */
export function printFailureResult(out: Output, value: unknown): void {
  if (!out.resultWritten) printResult(out, value);
}
