/**
 * The first hour, as a new user lives it: a fresh clone of HEAD (no node_modules), exactly the
 * README's `npm run demo`, then the scripts against the demo it leaves up. On that healthy
 * stack a backup, a migrate with nothing pending, a --verify and a redeploy of the running tag
 * print no WARN or ERROR line; /flower/ asks for the password of .env.prod; the operator's
 * language (Chinese) changes the words, not the --json.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "dotenv";
import { REPO_ROOT, removeStaleTestStacks } from "../stack/harness.ts";

interface Run {
  status: number | null;
  out: string;
  stdout: string;
}

function sh(argv: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Run {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: o.cwd,
    encoding: "utf8",
    // What a new user's shell has: no NODE_OPTIONS from this test runner, English unless asked.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS")), CLAW_OPS_LANG: "en", ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: o.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** The WARN and ERROR lines of a plain (no TTY) run, less the one notice a demo may print: its certificate is self-signed (DOMAIN=localhost). */
function alarms(out: string): string[] {
  const lines = out.split("\n").filter((l) => /^\S+Z (WARN|ERROR)\s/.test(l));
  const selfSigned = lines.filter((l) => /^\S+Z WARN\s+!!! SELF-SIGNED certificate for localhost/.test(l));
  return selfSigned.length === 1 ? lines.filter((l) => l !== selfSigned[0]) : lines;
}
const tail = (r: Run) => `exit ${r.status}\n${r.out.trim().split("\n").slice(-25).join("\n")}`;

describe("a new user's first hour: fresh clone, npm run demo, the scripts against it", { timeout: 1_500_000 }, () => {
  let clone = "";
  let project = "";
  let ops = "";
  let port = 0;

  before(async () => {
    const work = mkdtempSync(join(tmpdir(), "claw-newcomer-"));
    clone = join(work, "claw-ops");
    const c = sh(["git", "clone", "-q", REPO_ROOT, clone], { cwd: work });
    assert.equal(c.status, 0, c.out);
    const demo = sh(["npm", "run", "demo"], { cwd: clone });
    assert.equal(demo.status, 0, tail(demo));
    const banner = /demo stack "[^"]+" is up \(project dir ([^)]+)\):\n\s+https:\/\/localhost:(\d+)\/health\s+-> (\d+)/.exec(demo.stdout);
    assert.ok(banner, `no URLs printed:\n${tail(demo)}`);
    project = banner[1]!;
    port = Number(banner[2]);
    assert.equal(banner[3], "200", "the printed /health answer");
    ops = join(project, "ops");
    assert.deepEqual(alarms(demo.out), [], "the demo's first deploy warns about nothing else");
  });

  after(async () => {
    await removeStaleTestStacks();
    if (project) rmSync(project, { recursive: true, force: true });
    if (clone) rmSync(join(clone, ".."), { recursive: true, force: true });
  });

  test("on the healthy demo, a backup, a migrate with nothing pending, a --verify and a redeploy of the running tag print no WARN or ERROR", () => {
    for (const args of [["backup"], ["migrate"], ["backup", "--verify"], ["deploy", "-y"]]) {
      const r = sh([ops, ...args], { cwd: project });
      assert.equal(r.status, 0, `${args.join(" ")}: ${tail(r)}`);
      assert.deepEqual(alarms(r.out), [], `${args.join(" ")} printed alarms`);
    }
  });

  test("/flower/ through nginx asks for the basic-auth password of .env.prod", async () => {
    const env = parse(readFileSync(join(project, ".env.prod")));
    const get = (auth?: string) =>
      sh(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", ...(auth ? ["-u", auth] : []), `https://localhost:${port}/flower/`], {
        cwd: project,
      });
    assert.equal(get().stdout, "401");
    assert.equal(get(`${env.FLOWER_USER}:wrong-password`).stdout, "401");
    assert.equal(get(`${env.FLOWER_USER}:${env.FLOWER_PASSWORD}`).stdout, "200");
  });

  test("in Chinese a backup's progress and summary are Chinese, and --json differs only in message strings", () => {
    for (const args of [
      ["backup", "--list", "--json"],
      ["deploy", "--status", "--json"],
      ["migrate", "--status", "--json"],
    ]) {
      const en = sh([ops, ...args], { cwd: project });
      const cn = sh([ops, ...args], { cwd: project, env: { CLAW_OPS_LANG: "zh" } });
      assert.equal(cn.status, en.status, args.join(" "));
      assert.deepEqual(shape(JSON.parse(cn.stdout)), shape(JSON.parse(en.stdout)), `${args.join(" ")}: the JSON's keys and values`);
    }
    // Last: its Milvus pause leaves MinIO and Milvus "starting" for a moment, which --status would show.
    const zh = sh([ops, "backup"], { cwd: project, env: { CLAW_OPS_LANG: "", LANG: "zh_CN.UTF-8" } });
    assert.equal(zh.status, 0, tail(zh));
    assert.match(zh.out, /备份/);
    assert.doesNotMatch(zh.out, /: done in /, "progress lines are Chinese");
    assert.deepEqual(alarms(zh.out), []);
  });

  test("on a TTY in Chinese, rollback.mts asks which backup and confirms in Chinese; the default answer (否) changes nothing", async () => {
    const r = await onTty(`${ops} rollback`, project, { LANG: "zh_CN.UTF-8", CLAW_OPS_LANG: "" }, [
      [/回滚到哪个备份/, "\r"],
      [/是 \/ . 否/, "\r"],
    ]);
    assert.equal(r.status, 130, r.out.slice(-2000));
    assert.match(r.out, /将 .* 回滚到 \d{8}-\d{6}？当前数据将被替换。/);
    assert.match(r.out, /回滚：已取消，未做任何改动/);
  });
});

/**
 * A command on a pseudo-terminal (util-linux `script`), answering each prompt once it shows:
 * [what the screen must show, the keys to send].
 */
function onTty(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  answers: Array<[RegExp, string]>,
): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    // A pseudo-terminal of a real size: under CI there is no terminal to inherit one from, and
    // a width of 0 wraps every character onto a line of its own.
    const child = spawn("script", ["-qec", `stty cols 160 rows 50; exec ${command}`, "/dev/null"], {
      cwd,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS")), TERM: "xterm", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let next = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the screen's ANSI codes are stripped before matching
      const screen = out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
      while (next < answers.length && answers[next]![0].test(screen)) child.stdin!.write(answers[next++]![1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

/** A JSON document with its human sentences blanked: keys, numbers, ids and enum values stay. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, HUMAN.has(k) ? typeof x : shape(x)]));
  return v;
}
const HUMAN = new Set(["message", "error", "hint", "detail", "note", "reason", "summary"]);
