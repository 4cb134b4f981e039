/**
 * backup.mts and rollback.mts on the real stack: real pg_dump/pg_restore, Redis BGSAVE and
 * AOF, etcd snapshots, MinIO and uploads. One stack for the whole file. A test that needs a
 * backup, a restore or a rollback made for another test awaits it as a memoized fixture
 * (once()): run alone (--test-name-pattern) it makes what it needs; in a whole-file run, in
 * order, it reuses what an earlier test already made, so the full run does no extra work.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { restoreNames } from "../../lib/commands/postgres.ts";
import { run } from "../../lib/core/exec.ts";
import { once } from "../stack/fixtures.ts";
import { createStack, type TestStack } from "../stack/harness.ts";
import { ensureImages } from "../stack/images.ts";
import { runScript, startScript, tailOf } from "../stack/scripts.ts";
import { configPrint, type Fingerprint, fingerprint, mutate, psql, redisCli, s3, seed } from "../stack/state.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ListRow {
  index: number;
  id: string;
  tiers: string[];
  dir: string;
  components: string[];
}

describe("backup.mts and rollback.mts on the real stack", { timeout: 3_600_000 }, () => {
  let stack: TestStack;
  const list = async (): Promise<ListRow[]> => {
    const r = await runScript(stack, "backup", ["--list", "--json"]);
    assert.equal(r.status, 0, tailOf(r));
    return JSON.parse(r.stdout) as ListRow[];
  };
  const backupsOf = (tier: string) =>
    existsSync(join(stack.dir, "backups", tier)) ? readdirSync(join(stack.dir, "backups", tier)).filter((n) => !n.startsWith(".")) : [];

  /** The first full backup, `first`, of the seeded state A; `rows`: the list right after it. */
  const firstBackup = once(async () => {
    const A = await fingerprint(stack);
    const r = await runScript(stack, "backup", []);
    assert.equal(r.status, 0, tailOf(r));
    const rows = await list();
    return { A, first: rows[0]!, rows };
  });
  /** mutate() to state B, then --restore of `first` (back to A); B is snapshotted to pre-restore first. */
  const restoredOnce = once(async () => {
    const { A, first } = await firstBackup();
    await mutate(stack);
    const B = await fingerprint(stack);
    for (const k of Object.keys(A) as Array<keyof Fingerprint>) assert.notEqual(B[k], A[k], `mutate() changed ${k}`);
    const snapshotsBefore = backupsOf("pre-restore");
    const r = await runScript(stack, "backup", ["--restore", `backups/daily/${first.id}`, "-y"]);
    assert.equal(r.status, 0, tailOf(r));
    const snapshot = backupsOf("pre-restore").find((n) => !snapshotsBefore.includes(n));
    assert.ok(snapshot, "the restore took a pre-restore snapshot");
    return { B, snapshot };
  });
  /** The restore undone by a rollback to its pre-restore snapshot: every component in state B again. */
  const undoneOnce = once(async () => {
    const { snapshot } = await restoredOnce();
    const r = await runScript(stack, "rollback", ["--backup", `backups/pre-restore/${snapshot}`, "-y"]);
    assert.equal(r.status, 0, tailOf(r));
  });

  before(async () => {
    await ensureImages((m) => process.stderr.write(`[images] ${m}\n`));
    stack = await createStack();
    await stack.up();
    await seed(stack);
  });

  after(async () => {
    await stack?.down();
  });

  test("a full backup is verified, listed, and promoted to weekly and monthly by hard links", async () => {
    const { rows, first } = await firstBackup();
    assert.equal(rows.length, 1);
    assert.deepEqual(first.tiers.sort(), ["daily", "monthly", "weekly"]);
    assert.deepEqual(first.components, ["postgres", "redis", "milvus", "uploads", "config"]);
    const daily = join(stack.dir, "backups/daily", first.id);
    for (const f of readdirSync(daily)) {
      const st = statSync(join(daily, f));
      assert.equal(st.mode & 0o777, 0o600, `${f} mode`);
      assert.equal(st.nlink, 3, `${f} is one inode in three tiers`);
      assert.equal(statSync(join(stack.dir, "backups/weekly", first.id, f)).ino, st.ino);
    }
    const m = JSON.parse(readFileSync(join(daily, "manifest.json"), "utf8"));
    assert.equal(m.components.postgres.counts["table:public.messages"], 2000);
    assert.equal(m.components.postgres.counts["table:public.users"], 3);
    assert.ok(m.components.redis.counts.keys >= 7);
    assert.equal(m.components.uploads.counts.symlinks, 1);
    assert.ok(m.components.milvus.counts["minio:bytes"] > 6 * 1024 * 1024);
    const metrics = readFileSync(join(stack.dir, "metrics/claw_backup.prom"), "utf8");
    assert.match(metrics, /^claw_backup_last_success_timestamp_seconds \d+$/m);
  });

  test("--restore brings back exactly what was backed up, and Redis keeps it across a restart (appendonly yes)", async () => {
    const { A } = await firstBackup();
    await restoredOnce(); // mutate() to B, checked to differ from A everywhere, then --restore of `first`
    assert.deepEqual(await fingerprint(stack), A);
    assert.equal(await redisCli(stack, "CONFIG", "GET", "appendonly"), "appendonly\nyes");
    await stack.compose.restart(["redis"]);
    await stack.compose.up({ services: ["redis"], wait: true, noDeps: true }, 60_000);
    assert.equal((await fingerprint(stack)).redis, A.redis, "the keys survive a restart: they are in the AOF");
    assert.equal(backupsOf("pre-restore").length, 1, "the overwritten state was snapshotted first");
  });

  test("the pre-restore snapshot undoes the restore exactly", async () => {
    const { B } = await restoredOnce();
    await undoneOnce(); // rollback --backup backups/pre-restore/<its snapshot>, exit 0
    assert.deepEqual(await fingerprint(stack), B);
  });

  test("a restore keeps what it replaced in place as its snapshot: recorded before the swap, verified, undone exactly, removed with its snapshot; BACKUP_SNAPSHOT_IN_PLACE=no copies it", async () => {
    const { snapshot, B } = await restoredOnce();
    const snapshotsBefore = backupsOf("pre-rollback");
    await undoneOnce(); // from the kept data: a copy of it, so the snapshot stays
    const undoSnapshot = backupsOf("pre-rollback").find((n) => !snapshotsBefore.includes(n)) ?? backupsOf("pre-rollback").sort().at(-1)!;
    const dir = join(stack.dir, "backups/pre-restore", snapshot);
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    for (const c of ["postgres", "redis", "milvus", "uploads"]) {
      assert.deepEqual(m.components[c].kept, { tag: snapshot, moved: true }, `${c} kept in place, and marked moved once swapped`);
      assert.deepEqual(m.components[c].artifacts, []);
    }
    assert.ok(m.components.config.artifacts.length > 0, "the configuration is copied");
    const keptDbs = async () => (await psql(stack, "SELECT datname FROM pg_database WHERE datname LIKE 'claw\\_kept\\_%' ORDER BY 1")).split("\n");
    const keptIn = async (service: string, mount: string) =>
      (await stack.compose.exec(service, ["sh", "-c", `ls -A ${mount}`])).stdout.split("\n").filter((n) => n.startsWith(".claw-kept-"));
    const digits = (id: string) => id.replace("-", "");
    const keptUploads = () => readdirSync(stack.dir).filter((n) => n.startsWith(".claw-kept-uploads-"));
    assert.ok(
      (await keptDbs()).some((n) => n.endsWith(digits(snapshot))),
      "the replaced database kept under its snapshot name",
    );
    assert.ok((await keptIn("redis", "/data")).includes(`.claw-kept-${snapshot}`));
    assert.ok((await keptIn("minio", "/minio_data")).includes(`.claw-kept-${snapshot}`));
    assert.ok(
      keptUploads().some((n) => n.endsWith(snapshot)),
      "the replaced uploads kept beside the uploads directory",
    );
    // --verify of the snapshot checks the kept data against its record.
    const v = await runScript(stack, "backup", ["--verify", `backups/pre-restore/${snapshot}`]);
    assert.equal(v.status, 0, tailOf(v));
    assert.match(v.stdout + v.stderr, /postgres +kept in place as claw_kept_/);
    assert.match((await runScript(stack, "backup", ["--list"])).stdout, new RegExp(`pre-restore/${snapshot} .*postgres\\(in place\\)`));
    // Its directory gone (as retention removes it): --prune removes its kept data, and only its own.
    rmSync(dir, { recursive: true, force: true });
    const p = await runScript(stack, "backup", ["--prune"]);
    assert.equal(p.status, 0, tailOf(p));
    assert.match(p.stdout + p.stderr, /removed in-place snapshot data whose snapshot is gone/);
    assert.ok(!(await keptDbs()).some((n) => n.endsWith(digits(snapshot))));
    assert.ok(!(await keptIn("redis", "/data")).includes(`.claw-kept-${snapshot}`));
    assert.ok(!(await keptIn("minio", "/minio_data")).includes(`.claw-kept-${snapshot}`));
    assert.ok(!keptUploads().some((n) => n.endsWith(snapshot)));
    assert.ok(
      (await keptDbs()).some((n) => n.endsWith(digits(undoSnapshot))),
      "the undo's own snapshot stays",
    );
    assert.ok((await keptIn("redis", "/data")).includes(`.claw-kept-${undoSnapshot}`));
    assert.deepEqual(await fingerprint(stack), B, "the live data is untouched by the sweep");
    // A copy instead: the snapshot holds artifacts, and still undoes exactly.
    const env = join(stack.dir, ".env.prod");
    const envBefore = readFileSync(env, "utf8");
    try {
      appendFileSync(env, "\nBACKUP_SNAPSHOT_IN_PLACE=no\n");
      const { first } = await firstBackup();
      const before = backupsOf("pre-restore");
      const r = await runScript(stack, "backup", ["--restore", `backups/daily/${first.id}`, "-y"]);
      assert.equal(r.status, 0, tailOf(r));
      const copied = backupsOf("pre-restore").find((n) => !before.includes(n))!;
      const cm = JSON.parse(readFileSync(join(stack.dir, "backups/pre-restore", copied, "manifest.json"), "utf8"));
      for (const c of ["postgres", "redis", "milvus", "uploads"]) assert.equal(cm.components[c].kept, undefined, `${c} copied`);
      assert.ok(!(await keptDbs()).some((n) => n.endsWith(digits(copied))), "nothing kept in place");
      writeFileSync(env, `${readFileSync(env, "utf8")}\nBACKUP_SNAPSHOT_IN_PLACE=no\n`, { mode: 0o600 });
      const u = await runScript(stack, "rollback", ["--backup", `backups/pre-restore/${copied}`, "-y"]);
      assert.equal(u.status, 0, tailOf(u));
      assert.deepEqual(await fingerprint(stack), B);
    } finally {
      writeFileSync(env, envBefore, { mode: 0o600 });
    }
  });

  test("rollback N --skip-redis --skip-milvus --skip-uploads rolls back the database only, under load", async () => {
    const { A, first } = await firstBackup();
    const { B } = await restoredOnce();
    await undoneOnce(); // the precondition: every component in state B, the live config that of `first`
    const rows = await list();
    const idx = rows.find((x) => x.id === first.id)!.index;
    const configBefore = configPrint(stack.dir);
    let stop = false;
    let requests = 0;
    const load = (async () => {
      while (!stop && requests < 5000) {
        await stack.https("/api/test/counts").catch(() => undefined);
        requests++;
        await sleep(50);
      }
    })();
    const r = await runScript(stack, "rollback", [String(idx), "--skip-redis", "--skip-milvus", "--skip-uploads", "-y"]);
    stop = true;
    await load;
    assert.equal(r.status, 0, tailOf(r));
    assert.match(r.stdout, /config: +restored/);
    const now = await fingerprint(stack);
    assert.equal(now.postgres, A.postgres);
    assert.deepEqual([now.redis, now.etcd, now.minio, now.uploads], [B.redis, B.etcd, B.minio, B.uploads]);
    assert.equal(configPrint(stack.dir), configBefore, "config of the backup equals the live one here");
    const health = await stack.https("/health");
    assert.equal(health.status, 200, health.body);
    assert.ok(requests > 10);
  });

  test("rollback N --skip-db --skip-redis --skip-milvus --skip-uploads rolls back configuration only", async () => {
    const { first } = await firstBackup();
    const before = await fingerprint(stack);
    const confA = configPrint(stack.dir);
    appendFileSync(join(stack.dir, "nginx/nginx.conf"), "\n# edited after the backup\n");
    appendFileSync(join(stack.dir, "prometheus/prometheus.yml"), "\n# edited after the backup\n");
    assert.notEqual(configPrint(stack.dir), confA);
    const idx = (await list()).find((x) => x.id === first.id)!.index;
    const r = await runScript(stack, "rollback", [String(idx), "--skip-db", "--skip-redis", "--skip-milvus", "--skip-uploads", "-y"]);
    assert.equal(r.status, 0, tailOf(r));
    assert.match(r.stdout, /restore: +config\b/);
    assert.equal(configPrint(stack.dir), confA);
    assert.equal(statSync(join(stack.dir, ".env.prod")).mode & 0o777, 0o600);
    assert.deepEqual(await fingerprint(stack), before, "data untouched");
  });

  test("snapshot retention: after more rollbacks than the policy keeps, the oldest snapshots are gone, the newest stays, no regular backup touched", async () => {
    const { first } = await firstBackup();
    const env = join(stack.dir, ".env.prod");
    const envBefore = readFileSync(env, "utf8");
    try {
      const regular = () => ["daily", "weekly", "monthly"].map((t) => `${t}: ${backupsOf(t).join(",")}`);
      const regularBefore = regular();
      const older = backupsOf("pre-rollback");
      // Four configuration-only rollbacks (no service is stopped): four pre-rollback snapshots.
      for (let i = 0; i < 4; i++) {
        const r = await runScript(stack, "rollback", [
          "--backup",
          `backups/daily/${first.id}`,
          "--skip-db",
          "--skip-redis",
          "--skip-milvus",
          "--skip-uploads",
          "-y",
        ]);
        assert.equal(r.status, 0, tailOf(r));
      }
      const made = backupsOf("pre-rollback")
        .filter((n) => !older.includes(n))
        .sort();
      assert.equal(made.length, 4);
      // Ten days pass for every snapshot but the newest (their manifests' true instants moved back).
      const all = backupsOf("pre-rollback").sort();
      const newest = all[all.length - 1]!;
      for (const id of all.filter((n) => n !== newest)) {
        const f = join(stack.dir, "backups/pre-rollback", id, "manifest.json");
        const m = JSON.parse(readFileSync(f, "utf8")) as { createdAt: string; finishedAt: string };
        const back = (iso: string) => new Date(new Date(iso).getTime() - 10 * 86_400_000).toISOString();
        writeFileSync(f, JSON.stringify({ ...m, createdAt: back(m.createdAt), finishedAt: back(m.finishedAt) }, null, 2), { mode: 0o600 });
      }
      // The policy is set after the rollbacks: each of them put back the backed-up .env.prod.
      const others = readFileSync(env, "utf8")
        .split("\n")
        .filter((l) => !/^BACKUP_SNAPSHOT_(KEEP|DAYS)=/.test(l));
      writeFileSync(env, `${others.join("\n")}\nBACKUP_SNAPSHOT_KEEP=2\nBACKUP_SNAPSHOT_DAYS=7\n`, { mode: 0o600 });
      // The newest two stay (the newest is also the undo record's); every older one is marked, then pruned.
      const keep = all.slice(-2);
      const marked = ((await list()) as Array<ListRow & { willPrune?: boolean }>)
        .filter((r) => r.dir.includes("pre-rollback/") && r.willPrune)
        .map((r) => r.id);
      assert.deepEqual(
        marked.sort(),
        all.filter((n) => !keep.includes(n)),
      );
      const r = await runScript(stack, "backup", ["--prune"]);
      assert.equal(r.status, 0, tailOf(r));
      assert.deepEqual(backupsOf("pre-rollback").sort(), keep);
      assert.deepEqual(regular(), regularBefore, "no regular backup touched");
      const undo = JSON.parse(readFileSync(join(stack.dir, "backups/undo.json"), "utf8")) as { snapshot: string };
      assert.equal(undo.snapshot, `backups/pre-rollback/${newest}`);
    } finally {
      writeFileSync(env, envBefore, { mode: 0o600 });
    }
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const { first } = await firstBackup();
    const before = backupsOf("pre-rollback").length;
    const idx = (await list()).find((x) => x.id === first.id)!.index;
    const r = await runScript(stack, "rollback", [String(idx), "--skip-config", "--dry-run"]);
    assert.equal(r.status, 0, tailOf(r));
    assert.match(r.stdout, /leave as is: config/);
    assert.match(r.stdout, /config: +not restored/);
    assert.equal(backupsOf("pre-rollback").length, before);
  });

  test("refusals change nothing: corrupt artifact, bad index, not a backup, missing component, no TTY", async () => {
    const { first } = await firstBackup();
    const state = await fingerprint(stack);
    const snapshots = backupsOf("pre-rollback").length + backupsOf("pre-restore").length;
    // A corrupt copy of the first backup (a copy: the original's files are hard-linked across tiers).
    const bad = join(stack.dir, "backups/daily/20200101-000000");
    mkdirSync(bad);
    const src = join(stack.dir, "backups/daily", first.id);
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(bad, f));
    const rdb = readFileSync(join(bad, "redis.rdb"));
    const mid = Math.floor(rdb.length / 2);
    rdb[mid] = rdb[mid]! ^ 0xff;
    writeFileSync(join(bad, "redis.rdb"), rdb);
    const cases: Array<[string, string[], number, RegExp]> = [
      ["backup", ["--verify", "backups/daily/20200101-000000"], 5, /does not match its checksum/],
      ["backup", ["--restore", "backups/daily/20200101-000000", "-y"], 5, /does not match its checksum/],
      ["rollback", ["--backup", "backups/daily/20200101-000000", "-y"], 5, /does not match its checksum/],
      ["rollback", ["99", "-y"], 2, /no backup with index 99/],
      ["rollback", ["--backup", "/tmp", "-y"], 5, /is not a backup directory/],
      ["rollback", [String((await list()).find((x) => x.id === first.id)!.index)], 2, /no TTY/],
    ];
    for (const [script, args, code, msg] of cases) {
      const r = await runScript(stack, script, args);
      assert.equal(r.status, code, `${script} ${args.join(" ")}: ${tailOf(r)}`);
      assert.match(r.stderr, msg);
    }
    const dbOnly = await runScript(stack, "backup", ["--db-only"]);
    assert.equal(dbOnly.status, 0, tailOf(dbOnly));
    const id = (await list())[0]!.id;
    const missing = await runScript(stack, "rollback", ["--backup", `backups/daily/${id}`, "-y"]);
    assert.equal(missing.status, 5, tailOf(missing));
    assert.match(missing.stderr, /has no redis, milvus, uploads, config component/);
    assert.deepEqual(await fingerprint(stack), state);
    assert.equal(backupsOf("pre-rollback").length + backupsOf("pre-restore").length, snapshots, "no snapshot was taken");
  });

  test("--verify is a restore drill in throwaway containers: counts match, live data untouched, nothing left behind", async () => {
    const { first } = await firstBackup();
    const state = await fingerprint(stack);
    const r = await runScript(stack, "backup", ["--verify", `backups/daily/${first.id}`, "--json"]);
    assert.equal(r.status, 0, tailOf(r));
    const drill = (JSON.parse(r.stdout) as { drill: Record<string, string> }).drill;
    assert.match(drill.postgres!, /restored into a throwaway database: \d+ tables, \d+ rows, as in the manifest/);
    assert.match(drill.redis!, /loaded by a throwaway redis-server: \d+ keys/);
    assert.match(drill.milvus!, /etcd restored and started .* MinIO started ready on \d+ files/);
    assert.match(drill.uploads!, /1 symlinks/);
    assert.match(drill.config!, /files extract cleanly/);
    assert.deepEqual(await fingerprint(stack), state, "the drill touched no live data");
    const left = await run({ argv: ["docker", "ps", "-aq", "--filter", "label=ai.claw.ops.oneoff=true"] });
    assert.equal(left.stdout.trim(), "", "no throwaway container is left");
    assert.deepEqual(
      readdirSync(join(stack.dir, "backups")).filter((n) => n.startsWith(".")),
      [],
      "no scratch directory is left",
    );

    // A backup whose files match their checksums but whose data is not what the manifest
    // promises (here: a manifest claiming one row more) fails the drill with exit 5.
    const liar = join(stack.dir, "backups/daily/20200101-000002");
    mkdirSync(liar);
    const src = join(stack.dir, "backups/daily", first.id);
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(liar, f));
    const m = JSON.parse(readFileSync(join(liar, "manifest.json"), "utf8"));
    m.id = "20200101-000002";
    m.components.postgres.counts["table:public.messages"] += 1;
    writeFileSync(join(liar, "manifest.json"), JSON.stringify(m));
    const bad = await runScript(stack, "backup", ["--verify", "backups/daily/20200101-000002"]);
    assert.equal(bad.status, 5, tailOf(bad));
    assert.match(bad.stderr, /postgres: restored row counts differ from the manifest: public\.messages: expected 2001, got 2000/);
    rmSync(liar, { recursive: true });
  });

  test("a second concurrent run refuses with exit 4 and names the holder", async () => {
    // A full backup holds the lock for many seconds (Milvus is paused for its copy).
    const bg = startScript(stack, "backup", []);
    for (let i = 0; i < 600 && !/backup milvus/.test(bg.output()); i++) await sleep(50);
    const second = await runScript(stack, "backup", ["--only", "postgres"]);
    const firstRun = await bg.done;
    assert.equal(firstRun.status, 0, tailOf(firstRun));
    assert.equal(second.status, 4, tailOf(second));
    assert.match(second.stderr, /holds the lock: backup\.mts \(backup\) pid \d+/);
  });

  test("a backup killed with SIGKILL leaves nothing listed, and the next run recovers and succeeds", async () => {
    const before = (await list()).length;
    const bg = startScript(stack, "backup", []);
    // Kill it while Milvus is paused for the copy: the worst moment.
    for (let i = 0; i < 600; i++) {
      const st = (await stack.compose.ps({ all: true, services: ["milvus-standalone"] }))[0];
      if (st && st.state !== "running") break;
      await sleep(100);
    }
    process.kill(-bg.child.pid!, "SIGKILL");
    await bg.done;
    assert.equal((await list()).length, before, "the partial backup is not listed");
    assert.ok(
      readdirSync(join(stack.dir, "backups")).some((n) => n.startsWith(".tmp-")),
      "a partial staging dir was left",
    );
    const next = await runScript(stack, "backup", []);
    assert.equal(next.status, 0, tailOf(next));
    assert.match(next.stderr + next.stdout, /died before it finished; its lock was recovered/);
    assert.match(next.stderr + next.stdout, /removed 1 partial backup/);
    assert.equal((await list()).length, before + 1);
    assert.ok(!readdirSync(join(stack.dir, "backups")).some((n) => n.startsWith(".tmp-")));
    assert.equal((await stack.https("/health")).status, 200);
  });

  test("a database left half-swapped by a restore that died (renamed away, refusing connections) is put back by the next backup", async () => {
    await firstBackup();
    const before = await fingerprint(stack);
    const db = stack.env.POSTGRES_DB!;
    const away = restoreNames(db, "zzzzzzzz").old;
    const admin = (sql: string) =>
      stack.compose.exec("postgres", ["psql", "-U", stack.env.POSTGRES_USER!, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]);
    // swapSteps killed after its rename: the live name is gone, the data sits under the old name.
    await admin(`ALTER DATABASE "${db}" ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
    await admin(`ALTER DATABASE "${db}" RENAME TO "${away}"`);
    const r = await runScript(stack, "backup", []);
    assert.equal(r.status, 0, tailOf(r));
    assert.match(r.stderr, /left half-swapped by a restore that died; put back/);
    assert.deepEqual(await fingerprint(stack), before, "the data is back under its own name, unchanged");
  });

  test("a service that is down is a one-line error with exit 3", async () => {
    await stack.compose.stop(["redis"]);
    try {
      const r = await runScript(stack, "backup", ["--only", "redis"]);
      assert.equal(r.status, 3, tailOf(r));
      assert.match(r.stderr, /service redis is not running/);
    } finally {
      await stack.compose.up({ services: ["redis"], wait: true, noDeps: true });
    }
  });

  test("each new backup is copied offsite to S3-compatible storage and checked; a wrong key fails the run but keeps the local backup", async () => {
    const envFile = join(stack.dir, ".env.prod");
    const original = readFileSync(envFile, "utf8");
    await s3(stack, "s3.create_bucket(Bucket='offsite')");
    const offsite = (secret: string) =>
      `${original}OFFSITE_S3_ENDPOINT=http://127.0.0.1:9001\nOFFSITE_S3_BUCKET=offsite\n` +
      `OFFSITE_S3_PREFIX=test-host\nOFFSITE_S3_ACCESS_KEY=${stack.env.MINIO_ROOT_USER}\nOFFSITE_S3_SECRET_KEY=${secret}\n`;
    try {
      writeFileSync(envFile, offsite(stack.env.MINIO_ROOT_PASSWORD!), { mode: 0o600 });
      const r = await runScript(stack, "backup", ["--only", "postgres,config"]);
      assert.equal(r.status, 0, tailOf(r));
      /** The remote copy of the newest backup equals the local one, file by file; returns the remote ETags. */
      const sameRemote = async () => {
        const id = (await list())[0]!.id;
        const local = readdirSync(join(stack.dir, "backups/daily", id)).sort();
        const remote = JSON.parse(
          await s3(
            stack,
            `import json,hashlib\nout={}\nfor o in s3.list_objects_v2(Bucket='offsite', Prefix='test-host/daily/${id}/')['Contents']:\n  out[o['Key'].split('/')[-1]]=[hashlib.sha256(s3.get_object(Bucket='offsite', Key=o['Key'])['Body'].read()).hexdigest(), o['ETag'].strip('"')]\nprint(json.dumps(out))`,
          ),
        ) as Record<string, [string, string]>;
        assert.deepEqual(Object.keys(remote).sort(), local);
        for (const f of local)
          assert.equal(
            remote[f]![0],
            createHash("sha256")
              .update(readFileSync(join(stack.dir, "backups/daily", id, f)))
              .digest("hex"),
            f,
          );
        return { id, etags: Object.fromEntries(Object.entries(remote).map(([f, [, etag]]) => [f, etag])) };
      };
      await sameRemote();
      // A file larger than one part (5 MiB here) goes up as a multipart upload, part by part.
      // Earlier tests may have removed the seed's big object: a 12 MB one makes sure.
      await s3(stack, "s3.put_object(Bucket='a-bucket', Key='files/insert_log/offsite/12mb.bin', Body=os.urandom(12*1024*1024))");
      writeFileSync(envFile, `${offsite(stack.env.MINIO_ROOT_PASSWORD!)}OFFSITE_S3_PART_MB=5\n`, { mode: 0o600 });
      const mp = await runScript(stack, "backup", ["--only", "milvus"]);
      assert.equal(mp.status, 0, tailOf(mp));
      const { id: mpId, etags } = await sameRemote();
      assert.ok(statSync(join(stack.dir, "backups/daily", mpId, "minio-data.tar")).size > 10 * 1024 * 1024, "larger than two 5 MiB parts");
      assert.match(etags["minio-data.tar"]!, /^[0-9a-f]{32}-([3-9]|\d\d+)$/, "uploaded in 3 or more parts");
      assert.match(etags["manifest.json"]!, /^[0-9a-f]{32}$/, "small files in one PUT");
      const pending = await s3(stack, "print(len(s3.list_multipart_uploads(Bucket='offsite').get('Uploads', [])))");
      assert.equal(pending.trim(), "0", "no unfinished multipart upload is left");
      writeFileSync(envFile, offsite("wrong-secret-key-123"), { mode: 0o600 });
      const bad = await runScript(stack, "backup", ["--only", "postgres"]);
      assert.equal(bad.status, 1, tailOf(bad));
      assert.match(bad.stderr, /offsite copy failed: .*SignatureDoesNotMatch/);
      assert.doesNotMatch(bad.stdout + bad.stderr, /wrong-secret-key-123/);
      assert.equal((await list())[0]!.components.join(","), "postgres", "the local backup is kept");
    } finally {
      writeFileSync(envFile, original, { mode: 0o600 });
    }
  });

  test("encrypted backups (age, public key only on the server): no plaintext at rest; a restore without the right key changes nothing; with it, the exact state", async () => {
    const envFile = join(stack.dir, ".env.prod");
    const original = readFileSync(envFile, "utf8");
    const keys = mkdtempSync(join(tmpdir(), "claw-keys-"));
    const keygen = (name: string) => {
      execFileSync("age-keygen", ["-o", join(keys, name)], { stdio: "ignore" });
      chmodSync(join(keys, name), 0o600);
      return execFileSync("age-keygen", ["-y", join(keys, name)], { encoding: "utf8" }).trim();
    };
    const recipient = keygen("right.txt");
    keygen("wrong.txt");
    try {
      writeFileSync(envFile, `${original}BACKUP_AGE_RECIPIENTS=${recipient}\n`, { mode: 0o600 });
      const state = await fingerprint(stack);
      const b = await runScript(stack, "backup", []);
      assert.equal(b.status, 0, tailOf(b));
      const id = (await list())[0]!.id;
      const dir = join(stack.dir, "backups/daily", id);
      const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      assert.deepEqual(m.encryption, { scheme: "age", recipients: [recipient] });
      for (const f of readdirSync(dir).filter((n) => n !== "manifest.json")) {
        assert.match(f, /\.age$/);
        assert.equal(readFileSync(join(dir, f)).subarray(0, 21).toString(), "age-encryption.org/v1", `${f} is an age file`);
      }
      await mutate(stack, 7);
      const changed = await fingerprint(stack);
      const snapshots = backupsOf("pre-restore").length;
      for (const [args, msg] of [
        [[], /is encrypted .* and no key was given/],
        [["--identity", join(keys, "wrong.txt")], /encrypted to a key that was not given/],
      ] as const) {
        const r = await runScript(stack, "backup", ["--restore", `backups/daily/${id}`, "-y", ...args]);
        assert.equal(r.status, 3, tailOf(r));
        assert.match(r.stderr, msg);
      }
      assert.deepEqual(await fingerprint(stack), changed, "a refused restore changes nothing");
      assert.equal(backupsOf("pre-restore").length, snapshots, "and takes no snapshot");
      const drill = await runScript(stack, "backup", ["--verify", `backups/daily/${id}`, "--identity", join(keys, "right.txt")]);
      assert.equal(drill.status, 0, tailOf(drill));
      const r = await runScript(stack, "backup", ["--restore", `backups/daily/${id}`, "-y", "--identity", join(keys, "right.txt")]);
      assert.equal(r.status, 0, tailOf(r));
      assert.deepEqual(await fingerprint(stack), state);
      assert.deepEqual(
        readdirSync(join(stack.dir, "backups")).filter((n) => n.startsWith(".")),
        [],
        "no decrypted scratch dir is left",
      );
      const logs = readdirSync(join(stack.dir, "logs"))
        .map((f) => readFileSync(join(stack.dir, "logs", f), "utf8"))
        .join("\n");
      const secretKey = readFileSync(join(keys, "right.txt"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("AGE-SECRET"))!;
      assert.ok(!logs.includes(secretKey) && !(r.stdout + r.stderr).includes(secretKey), "the key never reaches a log");
    } finally {
      writeFileSync(envFile, original, { mode: 0o600 });
      rmSync(keys, { recursive: true, force: true });
    }
  });

  describe("rollback, component by component, release, and interruption", () => {
    const indexOf = async (backupId: string) => String((await list()).find((x) => x.id === backupId)!.index);
    const ALL_SKIPS = {
      postgres: "--skip-db",
      redis: "--skip-redis",
      milvus: "--skip-milvus",
      uploads: "--skip-uploads",
      config: "--skip-config",
    } as const;
    /** A full backup `id` of state S, recording the release claw-test/app:local. */
    const stateBackup = once(async () => {
      const S = await fingerprint(stack);
      const b = await runScript(stack, "backup", []);
      assert.equal(b.status, 0, tailOf(b));
      const id = (await list()).find((x) => x.tiers.includes("daily"))!.id;
      return { S, id };
    });

    test("each data component rolls back alone; the others stay exactly as they were", async () => {
      const { S, id } = await stateBackup();
      await mutate(stack, 2);
      const S2 = await fingerprint(stack);
      for (const k of Object.keys(S) as Array<keyof Fingerprint>) assert.notEqual(S2[k], S[k], `mutate(2) changed ${k}`);
      const done: Array<keyof Fingerprint> = [];
      for (const comp of ["redis", "milvus", "uploads"] as const) {
        const skips = Object.entries(ALL_SKIPS)
          .filter(([c]) => c !== comp)
          .map(([, f]) => f);
        const r = await runScript(stack, "rollback", [await indexOf(id), ...skips, "-y"]);
        assert.equal(r.status, 0, `${comp}: ${tailOf(r)}`);
        const now = await fingerprint(stack);
        done.push(comp === "milvus" ? "etcd" : comp);
        if (comp === "milvus") done.push("minio");
        for (const k of Object.keys(S) as Array<keyof Fingerprint>) {
          assert.equal(now[k], done.includes(k) ? S[k] : S2[k], `after rolling back ${comp}: ${k}`);
        }
      }
    });

    test("the release returns to the image tag recorded in the backup", async () => {
      const { id } = await stateBackup();
      await run({ argv: ["docker", "tag", "claw-test/app:local", "claw-test/app:v2"] });
      const envFile = join(stack.dir, ".env.prod");
      writeFileSync(envFile, readFileSync(envFile, "utf8").replace(/^CLAW_AI_TAG=.*$/m, "CLAW_AI_TAG=v2"), { mode: 0o600 });
      await stack.compose.upReady({ recreate: true });
      assert.equal(JSON.parse((await stack.https("/version")).body).version, "v2");
      const r = await runScript(stack, "rollback", [await indexOf(id), "--skip-db", "--skip-redis", "--skip-milvus", "--skip-uploads", "-y"]);
      assert.equal(r.status, 0, tailOf(r));
      assert.match(r.stdout, /release: +claw-test\/app:v2 -> claw-test\/app:local/);
      assert.equal(JSON.parse((await stack.https("/version")).body).version, "local");
      assert.match(readFileSync(envFile, "utf8"), /^CLAW_AI_TAG=local$/m);
    });

    test("a rollback killed mid-restore leaves the lock and snapshot behind, and the next run says how to finish or undo", async () => {
      const { S, id } = await stateBackup();
      const bg = startScript(stack, "rollback", [await indexOf(id), "-y"]);
      for (let i = 0; i < 1200 && !/restore postgres/.test(bg.output()); i++) await sleep(100);
      assert.match(bg.output(), /restore postgres/, "the rollback reached the restore");
      process.kill(-bg.child.pid!, "SIGKILL");
      await bg.done;
      assert.ok(existsSync(join(stack.dir, ".claw-ops.lock")), "the dead run's lock is left for recovery");
      const snap = backupsOf("pre-rollback").sort().at(-1)!;
      // The next run of anything (here a check of the snapshot) recovers the lock and says how to go on.
      const v = await runScript(stack, "backup", ["--verify", `backups/pre-rollback/${snap}`]);
      assert.equal(v.status, 0, `the pre-rollback snapshot is intact: ${tailOf(v)}`);
      assert.match(v.stderr, /rollback\.mts run \(rollback to \d{8}-\d{6}, pid \d+, started .*\) died before it finished/);
      // The exact command that finishes it: the same backup by path (an index may name another backup by now).
      assert.match(v.stderr, new RegExp(`to finish it: npx zx scripts/rollback.mts --backup backups/daily/${id} -y`));
      assert.match(v.stderr, new RegExp(`to undo it instead: npx zx scripts/rollback.mts --backup backups/pre-rollback/${snap} -y`));
      const next = await runScript(stack, "rollback", [await indexOf(id), "-y"]);
      assert.equal(next.status, 0, tailOf(next));
      assert.deepEqual(await fingerprint(stack), S);
      assert.equal((await stack.https("/health")).status, 200);
    });
  });
});
