/**
 * Append-only JSON-lines files (ledgers, run records): each line appended and fsynced, never
 * rewritten, so a run killed at any point leaves every earlier line intact and at worst one
 * torn last line, which readers skip.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { redactedJson } from "./secret.ts";

/** Append one line, durable before it returns (dir 0700, file 0600). */
export function appendJsonLine(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // A run killed mid-write leaves a torn last line: start on a line of our own.
  const torn = existsSync(file) && statSync(file).size > 0 && !readFileSync(file, "utf8").endsWith("\n");
  const fd = openSync(file, "a", 0o600);
  try {
    // Secrets masked in every string value: error messages end up here.
    writeSync(fd, `${torn ? "\n" : ""}${redactedJson(value)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Pure: the parsed lines of a text; lines that are not JSON objects are skipped and counted. */
export function parseJsonLines(text: string): { rows: Record<string, unknown>[]; skipped: number } {
  const rows: Record<string, unknown>[] = [];
  let skipped = 0;
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    try {
      const v = JSON.parse(raw) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { rows, skipped };
}

export function readJsonLines(file: string): { rows: Record<string, unknown>[]; skipped: number } {
  return existsSync(file) ? parseJsonLines(readFileSync(file, "utf8")) : { rows: [], skipped: 0 };
}
