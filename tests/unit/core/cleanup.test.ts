import assert from "node:assert/strict";
import { test } from "node:test";
import { type ServiceControl, whileStopped, withCleanup } from "../../../lib/core/cleanup.ts";
import { ClawError, CleanupFailedError, ExitCode, InvalidBackupError, PreconditionError } from "../../../lib/core/errors.ts";

/** Records what was stopped and started; fails where told to. */
function control(o: { failStop?: boolean; failStart?: boolean } = {}): ServiceControl & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async stop(s) {
      calls.push(`stop ${s.join(",")}`);
      if (o.failStop) throw new ClawError("stop failed");
    },
    async startReady(s) {
      calls.push(`start ${s.join(",")}`);
      if (o.failStart) throw new ClawError("service redis did not become healthy in 300 s", { hint: "inspect with `docker compose logs redis`" });
    },
  };
}

test("whileStopped stops, runs the work and starts the services again, returning the work's value", async () => {
  const c = control();
  assert.equal(await whileStopped(c, ["redis"], async () => 42), 42);
  assert.deepEqual(c.calls, ["stop redis", "start redis"]);
});

test("when the work fails the services are started again and the work's own error is thrown unchanged", async () => {
  const c = control();
  const boom = new InvalidBackupError("redis: the RDB does not load");
  await assert.rejects(
    whileStopped(c, ["redis"], async () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(c.calls, ["stop redis", "start redis"]);
});

test("when both the work and the restart fail, the work's error leads, the restart's follows, and both are kept as cause", async () => {
  const c = control({ failStart: true });
  const boom = new InvalidBackupError("redis: the RDB does not load", "use another backup");
  const err = await whileStopped(c, ["redis"], async () => {
    throw boom;
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof CleanupFailedError);
  assert.equal(err.message, "redis: the RDB does not load; and then: service redis did not become healthy in 300 s");
  assert.equal(err.exitCode, ExitCode.invalidBackup, "the work's exit code is kept");
  assert.equal(err.hint, "use another backup; inspect with `docker compose logs redis`");
  assert.equal(err.primary, boom);
  assert.ok(err.cause instanceof AggregateError);
  assert.equal((err.cause as AggregateError).errors.length, 2);
});

test("a precondition error whose restart failed is no longer 'nothing touched': exit 1", async () => {
  const c = control({ failStart: true });
  const err = await whileStopped(c, ["redis"], async () => {
    throw new PreconditionError("etcd is not running");
  }).catch((e: ClawError) => e);
  assert.equal(err.exitCode, ExitCode.failed);
});

test("a work that succeeds but whose restart fails fails with the restart's error", async () => {
  const c = control({ failStart: true });
  await assert.rejects(
    whileStopped(c, ["redis"], async () => "ok"),
    /did not become healthy/,
  );
});

test("a stop that fails half-way still gets its services started again", async () => {
  const c = control({ failStop: true });
  await assert.rejects(
    whileStopped(c, ["minio", "milvus"], async () => "never"),
    /stop failed/,
  );
  assert.deepEqual(c.calls, ["stop minio,milvus", "start minio,milvus"]);
});

test("with stopFirst false the work stops services itself and all of them are started again", async () => {
  const c = control();
  await whileStopped(
    c,
    ["minio", "milvus"],
    async () => {
      await c.stop(["milvus"]);
    },
    { stopFirst: false },
  );
  assert.deepEqual(c.calls, ["stop milvus", "start minio,milvus"]);
});

test("no services: the work runs alone", async () => {
  const c = control();
  assert.equal(await whileStopped(c, [], async () => 1), 1);
  assert.deepEqual(c.calls, []);
});

test("withCleanup runs the cleanup after success and after failure", async () => {
  const seen: string[] = [];
  await withCleanup(
    async () => seen.push("work"),
    async () => seen.push("cleanup"),
  );
  await assert.rejects(
    withCleanup(
      async () => {
        throw new Error("x");
      },
      async () => seen.push("cleanup2"),
    ),
    /^Error: x$/,
  );
  assert.deepEqual(seen, ["work", "cleanup", "cleanup2"]);
});

test("runUndoable undoes the steps already done, last first, when a later step fails", async () => {
  const { runUndoable } = await import("../../../lib/core/cleanup.ts");
  const ran: string[] = [];
  const steps = [
    { sql: "disallow", undo: "allow" },
    { sql: "terminate" },
    { sql: "rename live→old", undo: "rename old→live" },
    { sql: "rename restored→live" },
  ];
  const exec = async (x: string) => {
    ran.push(x);
    if (x === "rename restored→live") throw new ClawError("database is being accessed by other users");
  };
  await assert.rejects(runUndoable(steps, exec), /being accessed/);
  assert.deepEqual(ran, ["disallow", "terminate", "rename live→old", "rename restored→live", "rename old→live", "allow"]);
});

test("runUndoable joins an undo that fails to the step's own error", async () => {
  const { runUndoable } = await import("../../../lib/core/cleanup.ts");
  const exec = async (x: string) => {
    if (x === "b" || x === "undo a") throw new ClawError(`${x} failed`);
  };
  const err = await runUndoable([{ sql: "a", undo: "undo a" }, { sql: "b" }], exec).catch((e: ClawError) => e);
  assert.ok(err instanceof CleanupFailedError);
  assert.equal(err.message, "b failed; and then: undo a failed");
});
