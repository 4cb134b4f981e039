/**
 * The one lock shared by backup, rollback, migrate and deploy: a file `.claw-ops.lock` in the
 * project root, saying who holds it.
 *
 * Creation is atomic: the JSON is written to a private temp file which is then hard-linked to
 * the lock's name. link(2) fails with EEXIST if the name exists, so the lock file is never seen
 * half-written and exactly one contender wins.
 *
 * A lock whose holder died (same host, pid gone) is stale and is taken over. Taking over is
 * serialized by a second, short-lived file (`.claw-ops.lock.break`): under it the contender
 * re-reads the lock and replaces it only if it is still the very file it judged stale, so a
 * fresh lock taken meanwhile by someone else is never removed. A lock from another host, or from
 * another PID namespace or boot of a machine with this name (a container named like its host),
 * is never judged stale: we cannot see that holder's processes (lock-holder.ts: the holder's
 * record, and whether it can be alive).
 */
import { randomUUID } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LockHeldError, PreconditionError } from "./errors.ts";
import { msg } from "./i18n/index.ts";
import { heldHere, here, type LockInfo, parseInfo, pidAlive, sameRun, seenFromHere, serialize } from "./lock-holder.ts";

export type { LockInfo } from "./lock-holder.ts";

export interface LockOwner {
  /** The script's file name, e.g. "backup.mts". */
  script: string;
  /** What it is doing, e.g. "backup", "pre-deploy backup". */
  purpose: string;
  /** The exact command that finishes this run if it dies. */
  finish?: string;
}

export interface LockOptions {
  /** How long to wait for a live holder to finish before giving up (default 0: refuse at once). */
  waitMs?: number;
  /** How often to look again while waiting (default 500 ms). */
  pollMs?: number;
  /** The clock, for startedAt and for the age of an unreadable lock file. */
  now?: () => Date;
}

export interface Lock {
  readonly info: LockInfo;
  /** Absolute path of the lock file. */
  readonly file: string;
  /** Set when the lock was taken over from a run that died; tell the operator. */
  readonly recoveredFrom?: LockInfo | undefined;
  /** Removes the lock file if it is still ours; idempotent. */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const LOCK_FILE = ".claw-ops.lock";

/** An unreadable lock file younger than this is assumed to be mid-write by a live process. */
export const CORRUPT_LOCK_GRACE_MS = 60_000;
/** A `.break` file older than this was left by a contender that died while breaking. */
const BREAK_GRACE_MS = 30_000;
const DEFAULT_POLL_MS = 500;

export async function acquireLock(root: string, who: LockOwner, o: LockOptions = {}): Promise<Lock> {
  const now = o.now ?? (() => new Date());
  const waitMs = Math.max(0, o.waitMs ?? 0);
  const pollMs = Math.max(1, o.pollMs ?? DEFAULT_POLL_MS);
  const file = join(root, LOCK_FILE);
  const deadline = Date.now() + waitMs;

  for (;;) {
    // startedAt is when the lock was taken, not when we started waiting for it.
    const info: LockInfo = {
      pid: process.pid,
      host: hostname(),
      script: who.script,
      purpose: who.purpose,
      startedAt: now().toISOString(),
      ...here(),
      ...(who.finish ? { finish: who.finish } : {}),
    };
    if (create(file, info)) return new HeldLock(info, file, undefined);

    const seen = inspect(file);
    if (seen === undefined) continue; // released between our attempt and our look: try again

    if (isStale(seen, now())) {
      const outcome = takeOver(file, seen, info, now());
      if (outcome === "taken") return new HeldLock(info, file, seen.info);
      // "busy": another contender is taking it over right now; give it a moment and look again.
      if (outcome === "busy") await sleep(Math.min(pollMs, 50));
      continue;
    }

    const remaining = deadline - Date.now();
    if (remaining <= 0) throw heldError(file, seen, now(), waitMs);
    await sleep(Math.min(pollMs, remaining));
  }
}

/** Runs `fn` holding the lock; releases it whether `fn` succeeds or throws. */
export async function withLock<T>(root: string, who: LockOwner, fn: (lock: Lock) => Promise<T>, o?: LockOptions): Promise<T> {
  const lock = await acquireLock(root, who, o);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Who holds the lock, or undefined if nobody does (or the file is unreadable). */
export function readLock(root: string): LockInfo | undefined {
  return inspect(join(root, LOCK_FILE))?.info;
}

class HeldLock implements Lock {
  #released = false;
  constructor(
    readonly info: LockInfo,
    readonly file: string,
    readonly recoveredFrom: LockInfo | undefined,
  ) {}

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const held = inspect(this.file)?.info;
    // Never delete someone else's lock (one that took ours over, or a hand-made one).
    if (!held || !sameRun(held, this.info)) return;
    try {
      unlinkSync(this.file);
    } catch (e) {
      if (code(e) !== "ENOENT") throw e;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

// ---------------------------------------------------------------------------------------------

interface Seen {
  raw: string;
  ino: number;
  mtimeMs: number;
  info: LockInfo | undefined;
}

/** Creates the lock file atomically; false if it already exists. */
function create(file: string, info: LockInfo): boolean {
  const tmp = writeTemp(file, info);
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const c = code(e);
    if (c === "EEXIST") return false;
    // A filesystem without hard links: fall back to O_EXCL (atomic too, but the file is briefly
    // empty, which is why an unreadable young lock file counts as held).
    if (c === "EPERM" || c === "ENOTSUP" || c === "EOPNOTSUPP" || c === "ENOSYS") return createExclusive(file, serialize(info));
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

/** A private file next to `file` holding `info`, to be linked or renamed into place. */
function writeTemp(file: string, info: LockInfo): string {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    writeFileSync(tmp, serialize(info), { mode: 0o600, flag: "wx" });
  } catch (e) {
    throw new PreconditionError(msg.core.lock.cannotCreate({ dir: dirname(file), reason: (e as Error).message }), msg.core.lock.cannotCreateHint);
  }
  return tmp;
}

function createExclusive(file: string, body: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (e) {
    if (code(e) === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, body);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Content, identity and age of the lock file, read from one open file; undefined if absent. */
function inspect(file: string): Seen | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    if (code(e) === "ENOENT") return undefined;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    const raw = readFileSync(fd, "utf8");
    return { raw, ino: st.ino, mtimeMs: st.mtimeMs, info: parseInfo(raw) };
  } finally {
    closeSync(fd);
  }
}

function isStale(seen: Seen, now: Date): boolean {
  if (!seen.info) return now.getTime() - seen.mtimeMs > CORRUPT_LOCK_GRACE_MS;
  const where = seenFromHere(seen.info);
  if (where === "earlier-boot") return true; // the machine restarted since: nothing of that run is alive
  if (where === "elsewhere") return false; // another machine or container: we cannot tell
  return !pidAlive(seen.info.pid);
}

/**
 * Replaces the stale lock `seen` with ours, unless it changed meanwhile. Only one contender at a
 * time may do this (it holds `<lock>.break`, created like the lock itself), so between the
 * re-check and the replacement nobody else can remove the stale file and create a fresh one in
 * its place: the file that gets replaced is exactly the one judged stale. rename(2) replaces it
 * atomically, so the lock's name never disappears and the contender that recovered the lock is
 * the one that holds it.
 */
function takeOver(file: string, seen: Seen, info: LockInfo, now: Date): "taken" | "changed" | "busy" {
  const breakFile = `${file}.break`;
  const me: LockInfo = { ...info, purpose: `taking over a stale lock for ${info.script}`, startedAt: now.toISOString() };
  if (!create(breakFile, me)) {
    // Left behind by a contender that died mid-takeover (a window of microseconds): clear it.
    const b = inspect(breakFile);
    const abandoned = b?.info ? heldHere(b.info) && !pidAlive(b.info.pid) : false;
    if (b && (abandoned || Date.now() - b.mtimeMs > BREAK_GRACE_MS)) unlinkIfSame(breakFile, b);
    return "busy";
  }
  try {
    const current = inspect(file);
    if (!current || current.ino !== seen.ino || current.raw !== seen.raw) return "changed";
    const tmp = writeTemp(file, info);
    try {
      renameSync(tmp, file);
    } catch (e) {
      unlinkQuiet(tmp);
      throw e;
    }
    return "taken";
  } finally {
    const b = inspect(breakFile);
    if (b?.info && sameRun(b.info, me)) unlinkQuiet(breakFile);
  }
}

function unlinkIfSame(file: string, seen: Seen): void {
  const current = inspect(file);
  if (current && current.ino === seen.ino && current.raw === seen.raw) unlinkQuiet(file);
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

function heldError(file: string, seen: Seen, now: Date, waitMs: number): LockHeldError {
  const waited = waitMs > 0 ? msg.core.lock.waited({ time: formatMs(waitMs) }) : "";
  if (!seen.info) {
    const age = formatMs(Math.max(0, now.getTime() - seen.mtimeMs));
    return new LockHeldError(msg.core.lock.unreadable({ file, age, waited }), msg.core.lock.unreadableHint({ file }));
  }
  const i = seen.info;
  const elsewhere = i.host !== hostname() ? msg.core.lock.elsewhere : !heldHere(i) ? msg.core.lock.otherNamespace : "";
  return new LockHeldError(
    msg.core.lock.held({ script: i.script, purpose: i.purpose, pid: i.pid, host: i.host, since: i.startedAt, waited }),
    msg.core.lock.heldHint({ elsewhere, file }),
  );
}

function formatMs(ms: number): string {
  return ms < 1000 ? msg.core.lock.ms({ n: Math.round(ms) }) : msg.core.lock.s({ n: Math.round(ms / 1000) });
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
