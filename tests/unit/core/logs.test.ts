import assert from "node:assert/strict";
import { existsSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { planLogs, pruneLogs } from "../../../lib/core/logs.ts";
import { DAY_MS } from "../../../lib/core/time.ts";
import { tmp } from "../helpers.ts";

const now = new Date("2026-12-01T02:00:00Z");

test("per-run logs older than 30 days go, the appended cron log rotates past 10 MiB, anything else stays", () => {
  const old = now.getTime() - 31 * DAY_MS;
  const plan = planLogs(
    [
      { name: "backup-20261020-020000.log", mtimeMs: old, size: 10 },
      { name: "rollback-20261125-020000.log", mtimeMs: now.getTime() - DAY_MS, size: 10 },
      { name: "backup.log", mtimeMs: old, size: 11 * 1024 * 1024 },
      { name: "notes.txt", mtimeMs: old, size: 10 },
    ],
    now,
  );
  assert.deepEqual(plan, { remove: ["backup-20261020-020000.log"], rotate: ["backup.log"] });
  assert.deepEqual(planLogs([{ name: "backup.log", mtimeMs: 0, size: 100 }], now), { remove: [], rotate: [] });
});

test("pruning applies the plan in the directory; a missing directory is no error", () => {
  const dir = tmp();
  writeFileSync(join(dir, "backup-20261020-020000.log"), "x");
  const t = (now.getTime() - 40 * DAY_MS) / 1000;
  utimesSync(join(dir, "backup-20261020-020000.log"), t, t);
  writeFileSync(join(dir, "backup.log"), Buffer.alloc(10 * 1024 * 1024 + 1));
  writeFileSync(join(dir, "backup-20261130-020000.log"), "x");
  pruneLogs(dir, now);
  assert.deepEqual(readdirSync(dir).sort(), ["backup-20261130-020000.log", "backup.log.1"]);
  assert.deepEqual(pruneLogs(join(dir, "nope"), now), { remove: [], rotate: [] });
  assert.ok(!existsSync(join(dir, "nope")));
});
