/**
 * Seeding and fingerprinting the data of a test stack, component by component, through the
 * real services. A fingerprint is a hash of everything a restore must bring back exactly.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestStack } from "./harness.ts";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

export async function psql(stack: TestStack, sql: string): Promise<string> {
  return (
    await stack.compose.exec("postgres", [
      "psql",
      "-U",
      stack.env.POSTGRES_USER!,
      "-d",
      stack.env.POSTGRES_DB!,
      "-v",
      "ON_ERROR_STOP=1",
      "-At",
      "-c",
      sql,
    ])
  ).stdout;
}

export async function redisCli(stack: TestStack, ...args: string[]): Promise<string> {
  return (await stack.compose.exec("redis", ["redis-cli", ...args])).stdout.trim();
}

/** Runs Python with boto3 inside the Milvus stand-in (test tooling only) against MinIO. */
export async function s3(stack: TestStack, code: string): Promise<string> {
  const prelude =
    "import boto3,os\nfrom botocore.client import Config\ns3=boto3.client('s3',endpoint_url='http://minio:9000',aws_access_key_id=os.environ['MINIO_ACCESS_KEY_ID'],aws_secret_access_key=os.environ['MINIO_SECRET_ACCESS_KEY'],region_name='us-east-1',config=Config(s3={'addressing_style':'path'}))\n";
  return (await stack.compose.exec("milvus-standalone", ["python3", "-c", prelude + code])).stdout;
}

export async function seed(stack: TestStack): Promise<void> {
  await stack.compose.exec("claw-ai-backend", ["alembic", "upgrade", "head"]);
  await psql(
    stack,
    `
    INSERT INTO users (email, name, avatar) VALUES
      ('li.lei@example.com', '李雷 — ünïcødé 🚀', '\\x00ff10a0'::bytea),
      ('null.name@example.com', NULL, NULL),
      ('quote''s@example.com', E'tab\\tnewline\\nend', ''::bytea);
    INSERT INTO knowledge_base (owner_id, title, content, metadata)
      SELECT 1, 'doc ' || g, repeat('lorem ', g % 50), jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b'))
      FROM generate_series(1, 500) g;
    INSERT INTO conversations (user_id, title) SELECT 1, 'c' || g FROM generate_series(1, 50) g;
    INSERT INTO messages (conversation_id, role, content) SELECT (g % 50) + 1, 'user', md5(g::text) FROM generate_series(1, 2000) g;`,
  );
  const r = (...a: string[]) => redisCli(stack, ...a);
  await r("SET", "t:str", "hello 世界");
  await r("HSET", "t:hash", "a", "1", "b", "2");
  await r("RPUSH", "t:list", "x", "y", "z");
  await r("SADD", "t:set", "m1", "m2");
  await r("ZADD", "t:zset", "1", "one", "2.5", "two");
  await r("XADD", "t:stream", "*", "field", "value");
  await r("SET", "t:ttl", "expires-later", "EX", "86400");
  await stack.https("/api/test/vectors/docs", {
    method: "POST",
    body: JSON.stringify({
      vectors: [
        [0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6],
      ],
    }),
  });
  await s3(stack, "s3.put_object(Bucket='a-bucket', Key='files/insert_log/big/6mb.bin', Body=os.urandom(6*1024*1024))");
  const up = join(stack.dir, "uploads");
  mkdirSync(join(up, "nested dir/深い"), { recursive: true });
  chmodSync(join(up, "nested dir"), 0o750);
  writeFileSync(join(up, "report 2024.pdf"), randomBytes(3 * 1024 * 1024));
  writeFileSync(join(up, "nested dir/深い/файл.txt"), "unicode names\n");
  writeFileSync(join(up, "line\nbreak.txt"), "a newline in the name\n", { mode: 0o640 });
  chmodSync(join(up, "line\nbreak.txt"), 0o640);
  utimesSync(join(up, "report 2024.pdf"), new Date("2021-03-04T05:06:07Z"), new Date("2021-03-04T05:06:07Z"));
  symlinkSync("report 2024.pdf", join(up, "latest.pdf"));
}

/** Change every component; `round` keeps repeated calls distinct. */
export async function mutate(stack: TestStack, round = 1): Promise<void> {
  await psql(
    stack,
    `DELETE FROM messages WHERE id % ${round + 2} = 0; UPDATE users SET name = 'changed ${round}' WHERE id = 1;
    INSERT INTO users (email) VALUES ('after.backup.${round}@example.com');`,
  );
  await redisCli(stack, "DEL", "t:hash");
  await redisCli(stack, "SET", `t:new:${round}`, "created after the backup");
  await redisCli(stack, "RPUSH", "t:list", `appended ${round}`);
  await stack.https(`/api/test/vectors/later${round}`, { method: "POST", body: JSON.stringify({ vectors: [[9, 9, round]] }) });
  await s3(
    stack,
    `s3.delete_object(Bucket='a-bucket', Key='files/insert_log/big/6mb.bin')\ns3.put_object(Bucket='a-bucket', Key='files/extra/${round}.bin', Body=os.urandom(1024))`,
  );
  const up = join(stack.dir, "uploads");
  writeFileSync(join(up, `added after backup ${round}.txt`), "new\n");
  writeFileSync(join(up, "nested dir/深い/файл.txt"), `modified ${round}\n`);
}

export interface Fingerprint {
  postgres: string;
  redis: string;
  etcd: string;
  minio: string;
  uploads: string;
}

async function pgPrint(stack: TestStack): Promise<string> {
  // One psql for every table (query_to_xml runs each table's own query): one docker exec, not one a table.
  const perTable = `SELECT count(*) || '':'' || md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS c FROM %I x`;
  const rows = await psql(
    stack,
    `SELECT table_name || ':' || (xpath('/row/c/text()', query_to_xml(format('${perTable}', table_name), false, true, '')))[1]::text
     FROM information_schema.tables WHERE table_schema='public' AND table_type='BASE TABLE' ORDER BY table_name`,
  );
  return sha(rows.split("\n").filter(Boolean).join("\n"));
}

async function redisPrint(stack: TestStack): Promise<string> {
  // Only the keys the tests wrote (t:*): Celery keeps writing its own keys meanwhile.
  // Logical values, not DUMP: DUMP's byte order of a set changes when Redis reloads it.
  const code = [
    "import redis,os,hashlib",
    "r=redis.Redis.from_url(os.environ['REDIS_URL'])",
    "def val(k,t):",
    "  if t==b'string': return r.get(k)",
    "  if t==b'hash': return sorted(r.hgetall(k).items())",
    "  if t==b'list': return r.lrange(k,0,-1)",
    "  if t==b'set': return sorted(r.smembers(k))",
    "  if t==b'zset': return r.zrange(k,0,-1,withscores=True)",
    "  if t==b'stream': return r.xrange(k)",
    "  return t",
    "out=[(k,r.type(k),val(k,r.type(k)),r.ttl(k)>0) for k in sorted(r.scan_iter(match='t:*',count=1000))]",
    "print(hashlib.sha256(repr(out).encode()).hexdigest(), len(out))",
  ].join("\n");
  return (await stack.compose.exec("claw-ai-backend", ["python3", "-c", code])).stdout.trim();
}

async function etcdPrint(stack: TestStack): Promise<string> {
  const out = JSON.parse((await stack.compose.exec("etcd", ["etcdctl", "get", "", "--prefix", "-w", "json"])).stdout) as {
    kvs?: Array<{ key: string; value: string }>;
  };
  return sha(JSON.stringify((out.kvs ?? []).map((kv) => [kv.key, kv.value]).sort()));
}

async function minioPrint(stack: TestStack): Promise<string> {
  const r = await stack.compose.exec("minio", [
    "sh",
    "-c",
    // Our own top-level entries (a restore's staging, in-place snapshots) are not MinIO's data: it lists no dot dirs as buckets.
    "cd /minio_data && find . -path './.claw-*' -prune -o -type f ! -path './.minio.sys/tmp/*' -exec sha256sum {} + | LC_ALL=C sort",
  ]);
  return sha(r.stdout);
}

export function uploadsPrint(dir: string): string {
  const rows: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = join(rel, name);
      const st = lstatSync(join(dir, p));
      const base = `${JSON.stringify(p)} mode=${(st.mode & 0o7777).toString(8)} uid=${st.uid}`;
      if (st.isSymbolicLink()) rows.push(`${base} -> ${readlinkSync(join(dir, p))}`);
      else if (st.isDirectory()) {
        rows.push(`${base} dir`);
        walk(p);
      } else rows.push(`${base} mtime=${Math.floor(st.mtimeMs / 1000)} ${sha(readFileSync(join(dir, p)))}`);
    }
  };
  walk(".");
  return sha(rows.join("\n"));
}

export async function fingerprint(stack: TestStack): Promise<Fingerprint> {
  // The stores read at the same time: they are independent, and each read is a docker exec.
  const [postgres, redis, etcd, minio] = await Promise.all([pgPrint(stack), redisPrint(stack), etcdPrint(stack), minioPrint(stack)]);
  return { postgres, redis, etcd, minio, uploads: uploadsPrint(join(stack.dir, "uploads")) };
}

export function configPrint(dir: string): string {
  return sha(["nginx/nginx.conf", "prometheus/prometheus.yml", ".env.prod"].map((f) => readFileSync(join(dir, f), "utf8")).join("\0"));
}
