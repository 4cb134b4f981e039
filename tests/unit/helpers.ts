/**
 * Shared by the unit tests: temp dirs removed after the file's tests, files with a mode, sh
 * scripts with fake commands on PATH, directory trees as text, expected errors, age keys and a
 * fake context for the filesystem-only backup components.
 */
import assert from "node:assert/strict";
import { execFileSync, type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after } from "node:test";
import type { ComponentContext } from "../../lib/backup/components/component.ts";
import type { ComponentRecord, Manifest } from "../../lib/backup/manifest.ts";
import { type ClawError, ExitCode, UsageError } from "../../lib/core/errors.ts";
import { loadStack, type StackModel } from "../../lib/project/stack.ts";
import type { RestorePlan } from "../../lib/restore/plan.ts";

/** The repository root. */
export const ROOT = join(import.meta.dirname, "../..");

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir (/tmp/claw-<prefix>-…), removed when the test file's tests are done. */
export function tmp(prefix = "unit"): string {
  const d = mkdtempSync(join(tmpdir(), `claw-${prefix}-`));
  made.push(d);
  return d;
}

/** Writes root/rel (parents created) with exactly this mode. */
export function write(root: string, rel: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text, { mode });
  chmodSync(join(root, rel), mode);
}

/** Runs a script with `sh -c`, stdin from `input`, `path` put first on PATH. */
export function sh(script: string, o: { input?: string | Buffer; path?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync("sh", ["-c", script], {
    input: o.input ?? "",
    encoding: "utf8",
    env: { ...process.env, ...(o.path ? { PATH: `${o.path}:${process.env.PATH}` } : {}) },
  });
}

/** `sh -n`: the script parses. */
export function assertShellSyntax(script: string): void {
  const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

/** A directory on PATH holding one fake command. */
export function fakeBin(name: string, body: string): string {
  const bin = tmp("bin");
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bin;
}

/** Every path under a directory, relative, sorted, dirs with a trailing slash. */
export function tree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const s = lstatSync(join(dir, r));
    if (s.isDirectory()) out.push(`${r}/`, ...tree(dir, r));
    else if (s.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(join(dir, r))}`);
    else out.push(`${r}: ${readFileSync(join(dir, r), "utf8")}`);
  }
  return out;
}

/** Run fn, expect a ClawError of a class and exit code, return it. */
export function expectError<E extends ClawError>(cls: abstract new (...args: never[]) => E, exitCode: number, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof cls, String(e));
    assert.equal(e.exitCode, exitCode);
    return e;
  }
  assert.fail(`expected a ${cls.name}`);
}

/** Run fn, expect a usage error (exit 2), return it. */
export const usageError = (fn: () => unknown): UsageError => expectError(UsageError, ExitCode.usage, fn);

/** A new age key pair from the real age-keygen. */
export function keygen(): { key: string; recipient: string } {
  const key = execFileSync("age-keygen", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    .split("\n")
    .find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
  const recipient = execFileSync("age-keygen", ["-y"], { input: `${key}\n`, encoding: "utf8" }).trim();
  return { key, recipient };
}

let prodStack: StackModel | undefined;
/** The stack of the repository's docker-compose.prod.yml (read once). */
export const loadProdStack = (): StackModel => (prodStack ??= loadStack([join(ROOT, "docker-compose.prod.yml")]));

/** A fake project for the filesystem-only components (no Docker is touched). */
export const ctxFor = (root: string, dir: string, extra: Record<string, unknown> = {}) =>
  ({
    project: { root, stack: loadProdStack(), composeFiles: [join(root, "docker-compose.prod.yml")], ...extra },
    dir,
    out: { info() {} },
  }) as unknown as ComponentContext;

/** Await a promise that must reject with `cls` (and a message matching `re`); returns the error. */
export async function rejectsWith(p: Promise<unknown>, cls: new (...args: never[]) => ClawError, re?: RegExp): Promise<ClawError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a ${cls.name}`);
}

/** A component record with no artifacts, holding only these counts (for archive checks that read counts). */
export function componentRecord(name: ComponentRecord["name"], counts: Record<string, number>): ComponentRecord {
  return { name, status: "ok", startedAt: "", finishedAt: "", durationMs: 0, artifacts: [], tools: {}, counts, notes: [] };
}

/** A restore plan of a backup from release 1.0 onto a stack at 1.1, for the plan's printing tests. */
export function samplePlan(o: Partial<RestorePlan> = {}): RestorePlan {
  const manifest: Manifest = {
    format: "claw-ops-backup",
    version: 1,
    id: "20240215-020000",
    createdAt: "2024-02-15T01:00:00.000Z",
    finishedAt: "2024-02-15T01:02:00.000Z",
    host: "h",
    release: { image: "ghcr.io/claw/backend", tag: "1.0" },
    composeProject: null,
    components: {},
  };
  return {
    dir: "/srv/claw/backups/daily/20240215-020000",
    manifest,
    components: [],
    skipped: [],
    stop: [],
    snapshotTier: "pre-rollback",
    releaseFrom: "ghcr.io/claw/backend:1.1",
    releaseTo: "ghcr.io/claw/backend:1.0",
    ...o,
  };
}
