/**
 * Who holds the lock, as its file records it (LockInfo, written and read back), and whether that
 * holder can still be alive, seen from here: a pid is checked only in this host's, machine's,
 * boot's and PID namespace's own processes (a holder elsewhere is never judged dead); a holder
 * from an earlier boot of this very machine is gone.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

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

/** The holder's record as the lock file holds it. */
export function serialize(info: LockInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
}

/** The holder's record read back from a lock file: undefined unless it has every field a lock is taken with. */
export function parseInfo(raw: string): LockInfo | undefined {
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

/** Where the holder ran, seen from this process. */
export const seenFromHere = (info: LockInfo) => whereHeld(info, { host: hostname(), ...here() });
/** The holder ran here: its pid is one of ours to check. */
export const heldHere = (info: LockInfo) => seenFromHere(info) === "here";

/** Whether a process of this PID namespace is alive (a zombie is not). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException | undefined)?.code !== "ESRCH";
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

/** Two records of the same run (the lock file is ours, a `.break` file is this contender's). */
export function sameRun(a: LockInfo, b: LockInfo): boolean {
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;
}
