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
 * is never judged stale: we cannot see that holder's processes.
 */
import { randomUUID } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LockHeldError, PreconditionError } from "./errors.ts";
import { msg } from "./i18n/index.ts";

export interface LockInfo {
  pid: number;
  host: string;
  script: string;
  purpose: string;
  /** ISO 8601. */
  startedAt: string;
  /** The holder's PID namespace (`pid:[…]` of /proc/self/ns/pid): a pid means nothing in another one. */
  pidNamespace?: string;
  /** The holder's kernel boot id: a restart since means the holder is gone. */
  bootId?: string;
  /** /etc/machine-id: two machines may share a host name. */
  machineId?: string;
  /** The exact command that finishes this run if it dies (e.g. the same rollback, by path). */
  finish?: string;
}

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

function serialize(info: LockInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
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

function parseInfo(raw: string): LockInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
  for (const k of ["host", "script", "purpose", "startedAt"]) if (typeof o[k] !== "string") return undefined;
  const info: LockInfo = {
    pid: o.pid as number,
    host: o.host as string,
    script: o.script as string,
    purpose: o.purpose as string,
    startedAt: o.startedAt as string,
  };
  if (typeof o.pidNamespace === "string") info.pidNamespace = o.pidNamespace;
  if (typeof o.bootId === "string") info.bootId = o.bootId;
  if (typeof o.machineId === "string") info.machineId = o.machineId;
  if (typeof o.finish === "string") info.finish = o.finish;
  return info;
}

/** This process' PID namespace and boot id, where Linux tells them. */
type Where = Pick<LockInfo, "pidNamespace" | "bootId" | "machineId">;

/** This process' PID namespace, boot id and machine id, where Linux tells them. */
export function here(): Where {
  const out: Where = {};
  const read = (f: () => string) => {
    try {
      return f().trim() || undefined;
    } catch {
      return undefined; // not Linux, or not there
    }
  };
  const ns = read(() => readlinkSync("/proc/self/ns/pid"));
  const boot = read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"));
  const machine = read(() => readFileSync("/etc/machine-id", "utf8"));
  if (ns) out.pidNamespace = ns;
  if (boot) out.bootId = boot;
  if (machine) out.machineId = machine;
  return out;
}

/**
 * Pure: where the holder ran, seen from here.
 * - "here": same host name, machine, boot and PID namespace: its pid can be checked.
 * - "earlier-boot": same host name and the same machine id, another boot: the machine was
 *   restarted since (power loss, crash), so the holder is gone.
 * - "elsewhere": another host name or machine id, or another PID namespace (a container named
 *   like its host), or another boot where the machine id is unknown: never judged stale.
 * A field an older lock file did not record is not held against it.
 */
export function whereHeld(holder: LockInfo, me: { host: string } & Where): "here" | "earlier-boot" | "elsewhere" {
  const differ = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a !== b;
  if (holder.host !== me.host || differ(holder.machineId, me.machineId)) return "elsewhere";
  if (differ(holder.bootId, me.bootId)) return holder.machineId !== undefined && holder.machineId === me.machineId ? "earlier-boot" : "elsewhere";
  if (differ(holder.pidNamespace, me.pidNamespace)) return "elsewhere";
  return "here";
}

/** Pure: whether the holder's pid can be checked from here. */
export const sameMachine = (holder: LockInfo, me: { host: string } & Where): boolean => whereHeld(holder, me) === "here";

const seenFromHere = (info: LockInfo) => whereHeld(info, { host: hostname(), ...here() });
const local = (info: LockInfo) => seenFromHere(info) === "here";

function isStale(seen: Seen, now: Date): boolean {
  if (!seen.info) return now.getTime() - seen.mtimeMs > CORRUPT_LOCK_GRACE_MS;
  const where = seenFromHere(seen.info);
  if (where === "earlier-boot") return true; // the machine restarted since: nothing of that run is alive
  if (where === "elsewhere") return false; // another machine or container: we cannot tell
  return !pidAlive(seen.info.pid);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return code(e) !== "ESRCH";
  }
  // A killed process whose parent has not reaped it yet is a zombie: signal 0 still
  // succeeds, but it holds nothing any more.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): trust signal 0
  }
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
    const abandoned = b?.info ? local(b.info) && !pidAlive(b.info.pid) : false;
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

function sameRun(a: LockInfo, b: LockInfo): boolean {
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;
}

function heldError(file: string, seen: Seen, now: Date, waitMs: number): LockHeldError {
  const waited = waitMs > 0 ? msg.core.lock.waited({ time: formatMs(waitMs) }) : "";
  if (!seen.info) {
    const age = formatMs(Math.max(0, now.getTime() - seen.mtimeMs));
    return new LockHeldError(msg.core.lock.unreadable({ file, age, waited }), msg.core.lock.unreadableHint({ file }));
  }
  const i = seen.info;
  const elsewhere = i.host !== hostname() ? msg.core.lock.elsewhere : !local(i) ? msg.core.lock.otherNamespace : "";
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
