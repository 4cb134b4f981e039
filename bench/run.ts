/**
 * Backup/restore benchmark on the real local stack (a benchmark, not a test).
 *
 *   npx tsx bench/run.ts [--size-mb 1000]
 *
 * Builds a dataset of about --size-mb across components (Postgres 40 %, MinIO objects 30 %,
 * uploads 20 %, Redis 10 % up to 300 MB: the guide caps Redis at 512 MB), then times:
 *  - backup.mts (all components, concurrently, with its verification);
 *  - a baseline running the raw tools one after another on the same data, as the guide's old
 *    script did: pg_dump | gzip, a copy of Redis' dump.rdb, an etcd snapshot, a tar of the MinIO
 *    volume and a tar of uploads (no verification);
 *  - backup.mts --restore of that backup (including its pre-restore snapshot).
 * Prints a Markdown section; append it to docs/BENCHMARKS.md.
 */

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { run } from "../lib/core/exec.ts";
import { createStack } from "../tests/stack/harness.ts";
import { ensureImages } from "../tests/stack/images.ts";
import { runScript, tailOf } from "../tests/stack/scripts.ts";
import { psql, redisCli } from "../tests/stack/state.ts";

const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "1000" },
    variants: { type: "string", default: "default" },
    runs: { type: "string", default: "1" },
    // Leave the stack and its dataset up afterwards (for profiling by hand); `npx tsx tests/stack/cli.ts down` removes it.
    keep: { type: "boolean", default: false },
  },
});
const sizeMb = Number(values["size-mb"]);
/** Cycles of backup → restore → rollback of everything on the same dataset (median and spread over them). */
const cycles = Math.max(1, Number(values.runs));
/**
 * Backup variants run one after another on the same dataset: `default` (pg_dump's own
 * compression), `pg<N>` (BACKUP_PG_COMPRESSION=N), `+age` (encrypted to a fresh recipient),
 * e.g. --variants default,pg1,pg1+age. The restore is timed on the first one.
 */
const variants = String(values.variants)
  .split(",")
  .map((v) => v.trim())
  .filter(Boolean);
function variantEnv(v: string): string {
  const lines: string[] = [];
  const pg = /pg(\d)/.exec(v);
  if (pg) lines.push(`BACKUP_PG_COMPRESSION=${pg[1]}`);
  if (v.includes("+age")) {
    const key = execFileSync("age-keygen", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
    lines.push(`BACKUP_ENCRYPTION_KEY=${key}`);
  }
  return lines.map((l) => `${l}\n`).join("");
}
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(1);

await ensureImages(log);
const stack = await createStack();
try {
  log(`bringing the stack up (${stack.name})`);
  await stack.up();
  await stack.compose.exec("claw-ai-backend", ["alembic", "upgrade", "head"]);

  log(`building a ~${sizeMb} MB dataset`);
  const t0 = Date.now();
  // Postgres: ~1 KiB rows of hex text (compresses about 2:1, like real text).
  const pgRows = Math.round((sizeMb * 0.4 * 1024 * 1024) / 1100);
  await psql(
    stack,
    `INSERT INTO users (email) VALUES ('bench@example.com');
    INSERT INTO knowledge_base (owner_id, title, content, metadata)
    SELECT 1, 'doc ' || g, (SELECT string_agg(md5((g * 100 + i)::text), '') FROM generate_series(1, 31) i), jsonb_build_object('g', g)
    FROM generate_series(1, ${pgRows}) g;`,
  );
  // Redis: 1 KiB values.
  // At most 300 MB: the guide's Redis runs with --maxmemory 512mb (container limit 768M).
  const redisKeys = Math.round((Math.min(sizeMb * 0.1, 300) * 1024 * 1024) / 1024);
  await redisCli(
    stack,
    "EVAL",
    "for i=1,tonumber(ARGV[1]) do local v='' for j=1,16 do v=v..redis.sha1hex(i..':'..j):sub(1,64) end redis.call('SET','bench:'..i,v) end return 1",
    "0",
    String(redisKeys),
  );
  // MinIO: 4 MiB random objects (incompressible), through the S3 API.
  const objects = Math.max(1, Math.round((sizeMb * 0.3) / 4));
  await stack.compose.exec("milvus-standalone", [
    "python3",
    "-c",
    "import boto3,os\nfrom botocore.client import Config\ns3=boto3.client('s3',endpoint_url='http://minio:9000',aws_access_key_id=os.environ['MINIO_ACCESS_KEY_ID'],aws_secret_access_key=os.environ['MINIO_SECRET_ACCESS_KEY'],region_name='us-east-1',config=Config(s3={'addressing_style':'path'}))\n" +
      `for i in range(${objects}): s3.put_object(Bucket='a-bucket', Key=f'files/insert_log/bench/{i}.bin', Body=os.urandom(4*1024*1024))`,
  ]);
  // Uploads: 2 MiB random files.
  const files = Math.max(1, Math.round((sizeMb * 0.2) / 2));
  mkdirSync(join(stack.dir, "uploads/bench"), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(stack.dir, `uploads/bench/file-${i}.bin`), randomBytes(2 * 1024 * 1024));
  log(`dataset built in ${secs(Date.now() - t0)} s`);

  // --- claw-ops backup, per variant ----------------------------------------------------------
  type Result = {
    id: string;
    bytes: number;
    peakRssKB: number;
    milvusPausedMs?: number;
    components: Record<string, { name: string; durationMs: number; artifacts: Array<{ bytes: number }> }>;
  };
  const envFile = join(stack.dir, ".env.prod");
  const plainEnv = readFileSync(envFile, "utf8");
  const runs: Array<{ variant: string; ms: number; res: Result }> = [];
  for (const variant of variants) {
    writeFileSync(envFile, plainEnv + variantEnv(variant), { mode: 0o600 });
    log(`backup (${variant})`);
    const b0 = Date.now();
    const backup = await runScript(stack, "backup", ["--json"]);
    const ms = Date.now() - b0;
    if (backup.status !== 0) throw new Error(`backup (${variant}) failed: ${tailOf(backup)}`);
    runs.push({ variant, ms, res: JSON.parse(backup.stdout) as Result });
  }
  const { res } = runs[0]!;
  writeFileSync(envFile, plainEnv + variantEnv(variants[0]!), { mode: 0o600 });

  // --- baseline: the raw tools, one after another ----------------------------------------------
  const base = mkdtempSync(join(tmpdir(), "claw-bench-base-"));
  const c = stack.compose;
  const timed = async (name: string, fn: () => Promise<unknown>) => {
    const s = Date.now();
    await fn();
    return [name, Date.now() - s] as const;
  };
  const baseline = [
    await timed("pg_dump | gzip", () =>
      c.exec(
        "postgres",
        ["sh", "-c", `pg_dump -U ${stack.env.POSTGRES_USER} ${stack.env.POSTGRES_DB} | gzip`],
        {},
        { stdoutFile: join(base, "pg.sql.gz") },
      ),
    ),
    await timed("redis dump.rdb copy", () => c.exec("redis", ["cat", "/data/dump.rdb"], {}, { stdoutFile: join(base, "dump.rdb") })),
    await timed("etcd snapshot", async () => {
      await c.exec("etcd", ["etcdctl", "snapshot", "save", "/tmp/b.snap"]);
      await c.cp("etcd:/tmp/b.snap", join(base, "etcd.snap"));
    }),
    await timed("tar of MinIO data", () =>
      c.exec("minio", ["tar", "-C", "/minio_data", "-cf", "-", "."], {}, { stdoutFile: join(base, "minio.tar") }),
    ),
    await timed("tar of uploads", () => run({ argv: ["tar", "-C", join(stack.dir, "uploads"), "-cf", join(base, "uploads.tar"), "."] })),
  ];
  const baselineMs = baseline.reduce((s, [, ms]) => s + ms, 0);
  rmSync(base, { recursive: true, force: true });

  // --- restore and rollback, then more cycles of all three -----------------------------------
  type Restored = { peakRssKB: number; backendDowntimeMs?: number; phases?: Array<{ step: string; ms: number }> };
  const restoreOf = async (script: "backup" | "rollback", id: string) => {
    const args = script === "backup" ? ["--restore", `backups/daily/${id}`] : ["--backup", `backups/daily/${id}`];
    const t = Date.now();
    const r = await runScript(stack, script, [...args, "-y", "--json"]);
    const ms = Date.now() - t;
    if (r.status !== 0) throw new Error(`${script} of ${id} failed: ${tailOf(r)}`);
    return { ms, res: JSON.parse(r.stdout) as Restored }; // --json: stdout holds only the result
  };
  type Cycle = { backupMs: number; backup: Result; restoreMs: number; restore: Restored; rollbackMs: number; rollback: Restored };
  const cyclesDone: Cycle[] = [];
  for (let i = 0; i < cycles; i++) {
    let backupMs = runs[0]!.ms;
    let backupRes = res;
    if (i > 0) {
      log(`cycle ${i + 1}: backup`);
      const b0 = Date.now();
      const b = await runScript(stack, "backup", ["--json"]);
      backupMs = Date.now() - b0;
      if (b.status !== 0) throw new Error(`backup failed: ${tailOf(b)}`);
      backupRes = JSON.parse(b.stdout) as Result;
    }
    log(`cycle ${i + 1}: backup.mts --restore`);
    const restore = await restoreOf("backup", backupRes.id);
    log(`cycle ${i + 1}: rollback.mts --backup (everything, stack proven healthy)`);
    const rollback = await restoreOf("rollback", backupRes.id);
    cyclesDone.push({ backupMs, backup: backupRes, restoreMs: restore.ms, restore: restore.res, rollbackMs: rollback.ms, rollback: rollback.res });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const spread = (xs: number[]) => (xs.length > 1 ? ` (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})` : "");
  const stat = (xs: number[]) => `${secs(median(xs))} s${spread(xs)}`;
  const of = (f: (c: Cycle) => number | undefined) => cyclesDone.map(f).filter((x): x is number => x !== undefined);
  const phasesOf = (r: Restored) => (r.phases ?? []).map((p) => `${p.step} ${secs(p.ms)} s`).join("; ");
  const last = cyclesDone[cyclesDone.length - 1]!;
  const rss = last.restore;

  const lines = [
    `## ${new Date().toISOString().slice(0, 10)}: ~${sizeMb} MB dataset`,
    "",
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; ` +
      `Docker ${(await run({ argv: ["docker", "info", "--format", "{{.ServerVersion}}"] })).stdout.trim()}; local test stack (Debian images).`,
    `Dataset: ${pgRows} Postgres rows, ${redisKeys} Redis keys, ${objects} × 4 MiB MinIO objects, ${files} × 2 MiB uploads.`,
    "",
    "| run | wall time | notes |",
    "|---|---|---|",
    `| baseline: raw tools one after another | ${secs(baselineMs)} s | ${baseline.map(([n, ms]) => `${n} ${secs(ms)} s`).join(", ")} |`,
    ...runs.map(
      ({ variant, ms, res: r }) =>
        `| claw-ops backup, ${variant} (all components, verified) | ${secs(ms)} s | ${(r.bytes / 1e6).toFixed(0)} MB written, ${(r.bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s, peak RSS ${Math.round(r.peakRssKB / 1024)} MiB, **${(ms / baselineMs).toFixed(2)}× the baseline** (target ≤ 0.8×) |`,
    ),
    `| claw-ops restore of the ${variants[0]} backup (incl. pre-restore snapshot) | ${secs(last.restoreMs)} s | peak RSS ${Math.round(rss.peakRssKB / 1024)} MiB, **${(last.restoreMs / last.backupMs).toFixed(2)}× the backup** (target ≤ 1.5×), backend down ${secs(last.restore.backendDowntimeMs ?? 0)} s |`,
    `| claw-ops rollback of everything (incl. pre-rollback snapshot, every service proven healthy) | ${secs(last.rollbackMs)} s | peak RSS ${Math.round(last.rollback.peakRssKB / 1024)} MiB, backend down ${secs(last.rollback.backendDowntimeMs ?? 0)} s |`,
    "",
    ...runs.map(
      ({ variant, res: r }) =>
        `Per component, backup ${variant}: ` +
        Object.values(r.components)
          .map((x) => `${x.name} ${secs(x.durationMs)} s (${(x.artifacts.reduce((s, a) => s + a.bytes, 0) / 1e6).toFixed(0)} MB)`)
          .join(", ") +
        "\n",
    ),
    "",
    `Milvus paused in the backup: ${of((c) => c.backup.milvusPausedMs)
      .map((ms) => `${secs(ms)} s`)
      .join(", ")}.`,
    "",
    `Restore phases (last run): ${phasesOf(last.restore)}`,
    "",
    `Rollback phases (last run): ${phasesOf(last.rollback)}`,
    "",
    ...(cyclesDone.length > 1
      ? [
          `Over ${cyclesDone.length} cycles (median, min–max): backup ${stat(of((c) => c.backupMs))}; restore ${stat(of((c) => c.restoreMs))}; ` +
            `restore/backup ${median(of((c) => c.restoreMs / c.backupMs)).toFixed(2)}× (each cycle: ${of((c) => c.restoreMs / c.backupMs)
              .map((r) => `${r.toFixed(2)}×`)
              .join(", ")}); rollback ${stat(of((c) => c.rollbackMs))}; ` +
            `backend down in the rollback ${stat(of((c) => c.rollback.backendDowntimeMs))}; Milvus paused ${stat(of((c) => c.backup.milvusPausedMs))}; ` +
            `peak RSS backup ${Math.max(...of((c) => c.backup.peakRssKB)) >> 10} MiB, restore ${Math.max(...of((c) => c.restore.peakRssKB)) >> 10} MiB.`,
          "",
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  if (values.keep) log(`stack left up in ${stack.dir} (remove: npx tsx tests/stack/cli.ts down)`);
  else await stack.down();
}
