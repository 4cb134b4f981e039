/**
 * Hardening on the real stack: a 63-character database name, indexes that do not move under
 * the operator, --undo, a rollback killed with SIGKILL and finished or undone by the printed
 * commands, a crafted config archive, a symlinked uploads directory, .env.prod's owner.
 * One stack (POSTGRES_DB of 63 characters); each scenario runs alone too (memoized fixtures).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as tar from "tar";
import { sha256File } from "../../lib/backup/manifest.ts";
import { run } from "../../lib/core/exec.ts";
import { LOCK_FILE } from "../../lib/core/lock.ts";
import { once } from "../stack/fixtures.ts";
import { createStack, type TestStack } from "../stack/harness.ts";
import { ensureImages } from "../stack/images.ts";
import { runScript, startScript, tailOf } from "../stack/scripts.ts";
import { configPrint, type Fingerprint, fingerprint, mutate, psql, seed, uploadsPrint } from "../stack/state.ts";

/** 63 characters: PostgreSQL's longest name. "<db>__claw_restore" once truncated to exactly this. */
const LONG_DB = `claw_${"x".repeat(58)}`;

interface Row {
  index: number;
  id: string;
  tiers: string[];
  dir: string;
}

describe("hardening: crafted backups, odd names, interrupted rollbacks (real stack)", { timeout: 3_600_000 }, () => {
  let stack: TestStack;
  let round = 10;
  const list = async (): Promise<Row[]> => {
    const r = await runScript(stack, "backup", ["--list", "--json"]);
    assert.equal(r.status, 0, tailOf(r));
    return JSON.parse(r.stdout) as Row[];
  };
  const ok = async (script: string, args: string[]) => {
    const r = await runScript(stack, script, args);
    assert.equal(r.status, 0, `${script} ${args.join(" ")}: ${tailOf(r)}`);
    return r;
  };
  const databases = async () => (await psql(stack, "SELECT datname FROM pg_database ORDER BY 1")).split("\n").filter(Boolean);

  before(async () => {
    await ensureImages((m) => process.stderr.write(`[images] ${m}\n`));
    assert.equal(LONG_DB.length, 63);
    stack = await createStack({ env: { POSTGRES_DB: LONG_DB } });
    await stack.up();
    await seed(stack);
  });

  after(async () => {
    await stack?.down();
  });

  /** The first full backup of the seeded state (index 1 until another regular backup is taken). */
  const base = once(async (): Promise<{ id: string; state: Fingerprint }> => {
    const state = await fingerprint(stack);
    await ok("backup", []);
    const rows = await list();
    return { id: rows.find((r) => r.index === 1)!.id, state };
  });

  test("with a 63-character POSTGRES_DB a restore brings the data back and never drops the live database", async () => {
    const { id, state } = await base();
    await mutate(stack, round++);
    await ok("backup", ["--restore", `backups/daily/${id}`, "-y"]);
    assert.deepEqual(await fingerprint(stack), state);
    const dbs = await databases();
    assert.ok(dbs.includes(LONG_DB), dbs.join(", "));
    assert.deepEqual(
      dbs.filter((d) => d.startsWith("claw_restore_") || d.startsWith("claw_old_")),
      [],
      "no working database is left behind",
    );
  });

  test("rollback.mts 1 -y twice in a row ends in the same state as once: snapshots never take index 1", async () => {
    const { id, state } = await base();
    await mutate(stack, round++);
    await ok("rollback", ["1", "-y"]);
    assert.deepEqual(await fingerprint(stack), state);
    assert.equal((await list()).find((r) => r.index === 1)?.id, id, "index 1 is still the regular backup");
    await ok("rollback", ["1", "-y"]);
    assert.deepEqual(await fingerprint(stack), state, "the second run changed nothing");
  });

  test("--undo returns exactly to the state before the last rollback, and a second --undo redoes it", async () => {
    const { state } = await base();
    await mutate(stack, round++);
    const before = await fingerprint(stack);
    await ok("rollback", ["1", "-y"]);
    assert.deepEqual(await fingerprint(stack), state);
    await ok("rollback", ["--undo", "-y"]);
    assert.deepEqual(await fingerprint(stack), before);
    await ok("rollback", ["--undo", "-y"]);
    assert.deepEqual(await fingerprint(stack), state);
  });

  test("hardening row 1: a symlink planted as uploads/.claw-restore-<T> to a host directory: rollback.mts --undo -y never moves that directory's files", async () => {
    await base();
    await mutate(stack, round++);
    await ok("rollback", ["1", "-y"]);
    const t = (await list()).filter((r) => r.tiers.includes("pre-rollback")).sort((a, b) => b.id.localeCompare(a.id))[0]!.id;
    const victim = mkdtempSync(join(tmpdir(), "claw-victim-"));
    writeFileSync(join(victim, "id_rsa"), "host secret\n");
    const uploads = realpathSync(join(stack.dir, "uploads"));
    const planted = join(uploads, `.claw-restore-${t}`);
    symlinkSync(victim, planted);
    try {
      const r = await runScript(stack, "rollback", ["--undo", "-y"]);
      assert.ok(r.status === 0 || r.status === 3 || r.status === 5, tailOf(r));
      assert.deepEqual(readdirSync(victim), ["id_rsa"], "the host directory keeps its files");
      assert.equal(readFileSync(join(victim, "id_rsa"), "utf8"), "host secret\n");
      assert.equal(existsSync(join(uploads, "id_rsa")), false, "nothing of it moved into uploads");
    } finally {
      rmSync(planted, { force: true });
      rmSync(victim, { recursive: true, force: true });
    }
  });

  test("a rollback killed with SIGKILL mid-restore: the printed finish command ends in the backup's state, the printed undo command in the state before", async () => {
    const { state } = await base();
    await mutate(stack, round++);
    const before = await fingerprint(stack);
    const run = startScript(stack, "rollback", ["1", "-y"]);
    // Killed once its snapshot exists and the first component is being replaced.
    const deadline = Date.now() + 300_000;
    while (!/restore postgres/.test(run.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(run.output(), /restore postgres/, "the rollback reached its first component");
    process.kill(-run.child.pid!, "SIGKILL");
    await run.done;
    const next = await runScript(stack, "rollback", ["1", "--dry-run"]);
    assert.equal(next.status, 0, tailOf(next));
    const text = next.stdout + next.stderr;
    assert.match(text, /died before it finished; its lock was recovered/);
    const finish = /to finish it: npx zx scripts\/rollback\.mts (.+)$/m.exec(text)?.[1];
    const undo = /to undo it instead: npx zx scripts\/rollback\.mts (.+)$/m.exec(text)?.[1];
    assert.ok(finish && undo, text);
    assert.match(finish, /^--backup backups\/daily\/\d{8}-\d{6} -y$/, "the finish command names the backup by path");
    assert.match(undo, /^--backup backups\/pre-rollback\/\d{8}-\d{6} -y$/);
    await ok("rollback", finish.split(" "));
    assert.deepEqual(await fingerprint(stack), state, "finishing ends in the backup's state");
    await ok("rollback", undo.split(" "));
    assert.deepEqual(await fingerprint(stack), before, "undoing ends in the state before the dead rollback");
  });

  test("a crafted config.tar (a script, a git hook, a TLS key) is refused with exit 5 before anything is touched", async () => {
    const { id } = await base();
    const src = join(stack.dir, "backups/daily", id);
    const craftedId = "20200102-030405";
    const dst = join(stack.dir, "backups/daily", craftedId);
    cpSync(src, dst, { recursive: true, dereference: true });
    const work = mkdtempSync(join(tmpdir(), "claw-crafted-"));
    await tar.x({ file: join(dst, "config.tar"), cwd: work });
    const planted: Array<[string, string]> = [
      ["scripts/backup.mts", "process.exit(0) // would run as root\n"],
      [".git/hooks/pre-commit", "#!/bin/sh\necho pwned\n"],
      ["nginx/ssl/privkey.pem", "-----BEGIN PRIVATE KEY-----\n"],
    ];
    for (const [rel, body] of planted) {
      mkdirSync(join(work, rel, ".."), { recursive: true });
      writeFileSync(join(work, rel), body);
    }
    await tar.c({ cwd: work, file: join(dst, "config.tar"), portable: true }, ["."]);
    const m = JSON.parse(readFileSync(join(dst, "manifest.json"), "utf8"));
    m.id = craftedId;
    m.components.config.counts.files += 3; // the manifest agrees with the archive: only the allowlist refuses it
    const a = m.components.config.artifacts[0];
    Object.assign(a, await sha256File(join(dst, "config.tar")).then((h) => ({ sha256: h.sha256, bytes: h.bytes })));
    writeFileSync(join(dst, "manifest.json"), JSON.stringify(m));
    const confBefore = configPrint(stack.dir);
    const snapshots = (await list()).filter((x) => x.tiers.includes("pre-restore")).length;
    const r = await runScript(stack, "backup", ["--restore", `backups/daily/${craftedId}`, "-y"]);
    assert.equal(r.status, 5, tailOf(r));
    assert.equal((await list()).filter((x) => x.tiers.includes("pre-restore")).length, snapshots, "refused before its snapshot: nothing touched");
    assert.match(r.stdout + r.stderr, /config/);
    assert.equal(configPrint(stack.dir), confBefore);
    for (const rel of ["scripts/backup.mts", ".git/hooks/pre-commit"]) assert.throws(() => statSync(join(stack.dir, rel)), rel);
  });

  test("a ./uploads that is a relative symlink is archived through the link and restored in place, the link kept", async () => {
    await base();
    const real = join(stack.dir, "data", "uploads-real");
    mkdirSync(join(stack.dir, "data"), { recursive: true });
    renameSync(join(stack.dir, "uploads"), real);
    symlinkSync("data/uploads-real", join(stack.dir, "uploads"));
    const want = uploadsPrint(real);
    await ok("backup", ["--only", "uploads"]);
    const id = (await list()).find((r) => r.index === 1)!.id;
    const m = JSON.parse(readFileSync(join(stack.dir, "backups/daily", id, "manifest.json"), "utf8"));
    assert.ok(m.components.uploads.counts.files > 0, "the real directory's files are in the backup");
    writeFileSync(join(real, "added later.txt"), "x\n");
    assert.notEqual(uploadsPrint(real), want);
    await ok("rollback", ["1", "--skip-db", "--skip-redis", "--skip-milvus", "--skip-config", "-y"]);
    assert.equal(uploadsPrint(real), want);
    assert.ok(lstatSync(join(stack.dir, "uploads")).isSymbolicLink(), "./uploads is still the link");
  });

  test("hardening row 5: uploads on a small file system with room for the backup but not for the restore's staged copy: the restore is refused with exit 3 before anything is touched", async () => {
    await base();
    const uploads = join(stack.dir, "uploads");
    const saved = join(stack.dir, "uploads.row5-saved");
    const small = join(stack.dir, "small-fs");
    renameSync(uploads, saved);
    mkdirSync(small);
    await run({ argv: ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small] });
    try {
      const real = join(small, "uploads");
      mkdirSync(real);
      writeFileSync(join(real, "big.bin"), randomBytes(9 << 20));
      writeFileSync(join(real, "note.txt"), "row 5\n");
      symlinkSync(real, uploads);
      await ok("backup", ["--only", "uploads"]);
      writeFileSync(join(real, "note.txt"), "changed after the backup\n");
      const want = uploadsPrint(real);
      const snapshots = () =>
        readdirSync(join(stack.dir, "backups")).flatMap((t) => (t.startsWith("pre-") ? readdirSync(join(stack.dir, "backups", t)) : []));
      const before = snapshots();
      for (const args of [
        ["1", "--dry-run"],
        ["1", "-y"],
      ]) {
        const r = await runScript(stack, "rollback", [...args, "--skip-db", "--skip-redis", "--skip-milvus", "--skip-config"]);
        assert.equal(r.status, 3, tailOf(r));
        assert.match(
          r.stderr,
          new RegExp(
            `not enough free space on the file system of ${small} \\(the uploads' staged copy\\): this restore needs about \\d+ MB there, \\d+ MB is free; nothing was touched`,
          ),
        );
      }
      assert.equal(uploadsPrint(real), want, "the uploads are as they were");
      assert.deepEqual(readdirSync(small), ["uploads"], "nothing staged or kept beside them");
      assert.deepEqual(snapshots(), before, "no snapshot taken");
      assert.equal(existsSync(join(stack.dir, LOCK_FILE)), false, "the lock was released");
    } finally {
      rmSync(uploads, { force: true });
      await run({ argv: ["umount", small] }, { allowFailure: true });
      rmSync(small, { recursive: true, force: true });
      renameSync(saved, uploads);
    }
  });

  test(".env.prod keeps its owner and its mode 0600 after a configuration restore", async () => {
    const { id } = await base();
    const env = join(stack.dir, ".env.prod");
    const original = readFileSync(env, "utf8");
    writeFileSync(env, `${original}CLAW_TEST_MARK=changed\n`);
    chownSync(env, 1000, 1000);
    const rows = await list();
    const idx = rows.find((r) => r.id === id)!.index;
    await ok("rollback", [String(idx), "--skip-db", "--skip-redis", "--skip-milvus", "--skip-uploads", "-y"]);
    assert.equal(readFileSync(env, "utf8"), original);
    const st = statSync(env);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1000, 0o600]);
  });
});
