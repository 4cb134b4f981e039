import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { ExitCode, LockHeldError } from "../../../lib/core/errors.ts";
import { acquireLock, LOCK_FILE, type LockInfo, readLock, withLock } from "../../../lib/core/lock.ts";
import { here, pidAlive, sameMachine, whereHeld } from "../../../lib/core/lock-holder.ts";

const LOCK_MODULE = pathToFileURL(join(import.meta.dirname, "../../../lib/core/lock.ts")).href;
const BACKUP = { script: "backup.mts", purpose: "backup" };
const DEPLOY = { script: "deploy.mts", purpose: "deploy" };

function projectDir(): string {
  return mkdtempSync(join(tmpdir(), "claw-lock-"));
}

async function refusal(p: Promise<unknown>): Promise<LockHeldError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LockHeldError, String(e));
    assert.equal(e.exitCode, ExitCode.lockHeld);
    return e;
  }
  assert.fail("expected the lock to be refused");
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  assert.ok(child.pid);
  return child.pid;
}

function writeLock(dir: string, info: LockInfo): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(info), { mode: 0o600 });
}

/** Leftovers other than the lock itself (temp files, stale copies, break files). */
function debris(dir: string): string[] {
  return readdirSync(dir).filter((f) => f !== LOCK_FILE);
}

interface ChildResult {
  won: boolean;
  exitCode?: number;
  recoveredPid?: number | null;
}

/**
 * Starts `n` separate Node processes that all call acquireLock at the same wall-clock moment.
 * A winner keeps the lock until every loser has reported, so a slow starter cannot win later.
 */
async function race(dir: string, n: number): Promise<ChildResult[]> {
  const losers = mkdtempSync(join(tmpdir(), "claw-lock-losers-"));
  const startAt = Date.now() + 2000;
  const code = `
    const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const { readdirSync, writeFileSync } = await import("node:fs");
    const losers = ${JSON.stringify(losers)};
    await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
    try {
      const lock = await acquireLock(${JSON.stringify(dir)}, { script: "race.mts", purpose: "race" });
      console.log(JSON.stringify({ won: true, recoveredPid: lock.recoveredFrom?.pid ?? null }));
      const until = Date.now() + 20000;
      while (readdirSync(losers).length < ${n - 1} && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await lock.release();
    } catch (e) {
      console.log(JSON.stringify({ won: false, exitCode: e.exitCode }));
      writeFileSync(losers + "/" + process.pid, "");
    }`;
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    return new Promise<ChildResult>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (status) => {
        try {
          assert.equal(status, 0, `child exited ${status}: ${out}`);
          resolve(JSON.parse(out.trim()) as ChildResult);
        } catch (e) {
          reject(e);
        }
      });
    });
  });
  return Promise.all(children);
}

test("the lock file says who holds it, is private, and is removed on release", async () => {
  const dir = projectDir();
  const lock = await acquireLock(dir, BACKUP, { now: () => new Date("2026-03-01T02:00:00.000Z") });
  assert.equal(lock.file, join(dir, LOCK_FILE));
  assert.deepEqual(readLock(dir), {
    pid: process.pid,
    host: hostname(),
    script: "backup.mts",
    purpose: "backup",
    startedAt: "2026-03-01T02:00:00.000Z",
    ...here(),
  });
  assert.deepEqual(lock.info, readLock(dir));
  assert.equal(statSync(lock.file).mode & 0o777, 0o600);
  assert.equal(lock.recoveredFrom, undefined);
  assert.deepEqual(debris(dir), [], "no temp file is left behind");
  await lock.release();
  assert.equal(existsSync(lock.file), false);
  assert.equal(readLock(dir), undefined);
});

test("a second acquire is refused with exit code 4, naming the holder and the way out", async () => {
  const dir = projectDir();
  const first = await acquireLock(dir, BACKUP);
  const e = await refusal(acquireLock(dir, DEPLOY));
  assert.equal(
    e.message,
    `another claw-ops run holds the lock: backup.mts (backup) pid ${process.pid} on host ${hostname()} since ${first.info.startedAt}`,
  );
  assert.equal(e.hint, `wait for it to finish; if that process is gone, remove ${first.file}`);
  assert.deepEqual(readLock(dir), first.info, "the refused contender left the lock alone");
  await first.release();
});

test("a lock left by a dead process on this host is recovered and reported", async () => {
  const dir = projectDir();
  const dead: LockInfo = { pid: await deadPid(), host: hostname(), script: "backup.mts", purpose: "backup", startedAt: "2026-03-01T02:00:00.000Z" };
  writeLock(dir, dead);
  const lock = await acquireLock(dir, DEPLOY);
  assert.deepEqual(lock.recoveredFrom, dead);
  assert.equal(readLock(dir)?.pid, process.pid);
  assert.deepEqual(debris(dir), [], "the stale copy and the break file are cleaned up");
  await lock.release();
});

test("a lock from another host is never considered stale, even if its pid is unused here", async () => {
  const dir = projectDir();
  const remote: LockInfo = {
    pid: await deadPid(),
    host: "some-other-host",
    script: "migrate.mts",
    purpose: "migrate",
    startedAt: "2026-03-01T02:00:00.000Z",
  };
  writeLock(dir, remote);
  const e = await refusal(acquireLock(dir, BACKUP));
  assert.match(e.message, /migrate\.mts \(migrate\) pid \d+ on host some-other-host since 2026-03-01T02:00:00.000Z/);
  assert.match(e.hint ?? "", /another machine/);
  assert.deepEqual(readLock(dir), remote);
});

test("an unreadable lock file counts as held while young and as stale once older than 60 s", async () => {
  const dir = projectDir();
  const file = join(dir, LOCK_FILE);
  writeFileSync(file, "");
  assert.equal(readLock(dir), undefined);
  const e = await refusal(acquireLock(dir, BACKUP));
  assert.match(e.message, /is unreadable and was modified/);

  const old = new Date(Date.now() - 120_000);
  utimesSync(file, old, old);
  const lock = await acquireLock(dir, BACKUP);
  assert.equal(readLock(dir)?.pid, process.pid);
  await lock.release();
});

test("withLock releases the lock after fn succeeds and after fn throws", async () => {
  const dir = projectDir();
  assert.equal(await withLock(dir, BACKUP, async () => "done"), "done");
  assert.equal(readLock(dir), undefined);

  await assert.rejects(
    withLock(dir, BACKUP, async () => {
      assert.equal(readLock(dir)?.script, "backup.mts");
      throw new Error("pg_dump failed");
    }),
    /pg_dump failed/,
  );
  assert.equal(readLock(dir), undefined);
  await (await acquireLock(dir, DEPLOY)).release();
});

test("await using releases the lock at the end of the scope", async () => {
  const dir = projectDir();
  {
    await using lock = await acquireLock(dir, BACKUP);
    assert.equal(readLock(dir)?.startedAt, lock.info.startedAt);
  }
  assert.equal(readLock(dir), undefined);
});

test("with waitMs a second contender gets the lock once the first releases", async () => {
  const dir = projectDir();
  const first = await acquireLock(dir, BACKUP);
  setTimeout(() => void first.release(), 200);
  const started = Date.now();
  const second = await acquireLock(dir, DEPLOY, { waitMs: 5000, pollMs: 20 });
  assert.ok(Date.now() - started >= 150, "it waited for the release");
  assert.equal(readLock(dir)?.script, "deploy.mts");
  await second.release();
});

test("when waitMs runs out the contender is refused and told how long it waited", async () => {
  const dir = projectDir();
  const first = await acquireLock(dir, BACKUP);
  const e = await refusal(acquireLock(dir, DEPLOY, { waitMs: 150, pollMs: 20 }));
  assert.match(e.message, /backup\.mts \(backup\).*\(waited 150 ms\)$/);
  await first.release();
});

test("release never removes a lock that is not ours, and is idempotent", async () => {
  const dir = projectDir();
  const lock = await acquireLock(dir, BACKUP);
  const foreign: LockInfo = { ...lock.info, startedAt: "2026-03-01T03:00:00.000Z", script: "deploy.mts" };
  writeLock(dir, foreign);
  await lock.release();
  await lock.release();
  assert.deepEqual(readLock(dir), foreign);

  const other: LockInfo = { ...foreign, pid: process.pid + 1 };
  writeLock(dir, other);
  await lock.release();
  assert.deepEqual(readLock(dir), other);
});

test("ten acquires in the same tick: exactly one wins, the rest are refused", async () => {
  const dir = projectDir();
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => acquireLock(dir, { script: "race.mts", purpose: `contender ${i}` })));
  const won = results.filter((r) => r.status === "fulfilled");
  const lost = results.filter((r) => r.status === "rejected");
  assert.equal(won.length, 1);
  for (const r of lost) assert.ok(r.reason instanceof LockHeldError && r.reason.exitCode === ExitCode.lockHeld, String(r.reason));
  const winner = won[0]!.value;
  assert.deepEqual(readLock(dir), winner.info);
  await winner.release();
  assert.deepEqual(debris(dir), []);
});

test("separate processes racing for a free lock: exactly one wins", { timeout: 30_000 }, async () => {
  const dir = projectDir();
  const results = await race(dir, 6);
  assert.equal(results.filter((r) => r.won).length, 1, JSON.stringify(results));
  for (const r of results.filter((x) => !x.won)) assert.equal(r.exitCode, ExitCode.lockHeld);
  assert.equal(readLock(dir), undefined, "the winner released it");
  assert.deepEqual(debris(dir), []);
});

test("separate processes racing to recover a stale lock: exactly one takes it over", { timeout: 30_000 }, async () => {
  const dir = projectDir();
  const dead: LockInfo = { pid: await deadPid(), host: hostname(), script: "backup.mts", purpose: "backup", startedAt: "2026-03-01T02:00:00.000Z" };
  writeLock(dir, dead);
  const results = await race(dir, 6);
  const winners = results.filter((r) => r.won);
  assert.equal(winners.length, 1, JSON.stringify(results));
  assert.equal(winners[0]!.recoveredPid, dead.pid);
  for (const r of results.filter((x) => !x.won)) assert.equal(r.exitCode, ExitCode.lockHeld);
  assert.equal(readLock(dir), undefined);
  assert.deepEqual(debris(dir), []);
});

test("a killed holder that is still an unreaped zombie counts as dead", async () => {
  // `sleep 0.2` ends after its shell has exec'd `sleep 3`, which never reaps it: a zombie.
  const child = spawn("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 3"], { stdio: ["ignore", "pipe", "ignore"] });
  const pid = await new Promise<number>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
  await new Promise((r) => setTimeout(r, 700));
  assert.match(readFileSync(`/proc/${pid}/stat`, "utf8"), /\) Z /, "the child is a zombie");
  assert.equal(pidAlive(pid), false);
  assert.equal(pidAlive(process.pid), true);
  child.kill();
});

test("a holder in another PID namespace or boot with this host name is never stale, even when its pid is not alive here", async () => {
  const me = { host: hostname(), ...here() };
  assert.ok(sameMachine({ pid: 1, host: me.host, script: "x", purpose: "y", startedAt: "z", ...here() }, me));
  assert.ok(
    !sameMachine({ pid: 1, host: me.host, script: "x", purpose: "y", startedAt: "z", pidNamespace: "pid:[1]" }, { ...me, pidNamespace: "pid:[2]" }),
  );
  assert.ok(!sameMachine({ pid: 1, host: me.host, script: "x", purpose: "y", startedAt: "z", bootId: "a" }, { ...me, bootId: "b" }));
  assert.ok(
    sameMachine({ pid: 1, host: me.host, script: "x", purpose: "y", startedAt: "z" }, me),
    "an older lock without the fields: the host decides",
  );
  const dir = mkdtempSync(join(tmpdir(), "claw-lock-ns-"));
  try {
    // pid 2147483646 is not alive here, but the holder runs in another PID namespace.
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({
        pid: 2147483646,
        host: hostname(),
        script: "backup.mts",
        purpose: "backup",
        startedAt: new Date().toISOString(),
        pidNamespace: "pid:[1]",
        bootId: here().bootId,
      }),
    );
    const err = await acquireLock(dir, { script: "rollback.mts", purpose: "rollback" }).then(
      () => assert.fail("took a live lock over"),
      (e: Error) => e,
    );
    assert.ok(err instanceof LockHeldError);
    assert.match(err.hint ?? "", /another PID namespace or boot/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock from an earlier boot of this very machine (same host and machine id) is stale: a power loss does not lock the scripts out", async () => {
  const base = { pid: 1, host: "h", script: "backup.mts", purpose: "backup", startedAt: "z" };
  const me = { host: "h", machineId: "m1", bootId: "b2", pidNamespace: "pid:[1]" };
  assert.equal(whereHeld({ ...base, machineId: "m1", bootId: "b1", pidNamespace: "pid:[1]" }, me), "earlier-boot");
  assert.equal(whereHeld({ ...base, machineId: "m2", bootId: "b1" }, me), "elsewhere", "another machine of the same name");
  assert.equal(
    whereHeld({ ...base, bootId: "b1" }, { ...me, machineId: undefined }),
    "elsewhere",
    "machine unknown: cannot tell a reboot from another machine",
  );
  assert.equal(whereHeld({ ...base, machineId: "m1", bootId: "b2", pidNamespace: "pid:[9]" }, me), "elsewhere", "a container named like its host");
  assert.equal(whereHeld({ ...base, machineId: "m1", bootId: "b2", pidNamespace: "pid:[1]" }, me), "here");
  const dir = mkdtempSync(join(tmpdir(), "claw-lock-boot-"));
  try {
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...base, pid: process.pid, host: hostname(), ...here(), bootId: "an-earlier-boot" }));
    const lock = await acquireLock(dir, { script: "rollback.mts", purpose: "rollback" });
    assert.equal(lock.recoveredFrom?.bootId, "an-earlier-boot", "taken over although that pid is alive now: it is another process since the restart");
    await lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
