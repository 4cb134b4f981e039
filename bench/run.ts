/**
 * Backup/restore benchmark on the real local stack (a benchmark, not a test).
 *
 *   npx tsx bench/run.ts [--size-mb 1000]
 *
 * Builds a dataset of about --size-mb across components (Postgres 40 %, MinIO objects 30 %,
 * uploads 20 %, Redis 10 %), then times:
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

const { values } = parseArgs({ options: { "size-mb": { type: "string", default: "1000" }, variants: { type: "string", default: "default" } } });
const sizeMb = Number(values["size-mb"]);
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
  const redisKeys = Math.round((sizeMb * 0.1 * 1024 * 1024) / 1024);
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

  // --- restore --------------------------------------------------------------------------------
  const r0 = Date.now();
  const restore = await runScript(stack, "backup", ["--restore", `backups/daily/${res.id}`, "-y", "--json"]);
  const restoreMs = Date.now() - r0;
  if (restore.status !== 0) throw new Error(`restore failed: ${tailOf(restore)}`);
  const stepLines = (restore.stdout + restore.stderr)
    .split("\n")
    .filter((l) => /(restore \w+|snapshot of the current state|start [\w-]+.*): done in/.test(l))
    .map((l) => l.replace(/^.*?(SUCCESS|DEBUG)\s+/, ""));
  const rss = JSON.parse(restore.stdout) as { peakRssKB: number }; // --json: stdout holds only the result

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
    `| claw-ops restore of the ${variants[0]} backup (incl. pre-restore snapshot) | ${secs(restoreMs)} s | peak RSS ${Math.round(rss.peakRssKB / 1024)} MiB |`,
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
    `Restore steps: ${stepLines.join("; ")}`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await stack.down();
}
