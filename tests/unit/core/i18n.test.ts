import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { catalogue, detectLang, displayWidth, padCells } from "../../../lib/core/i18n/index.ts";

const ROOT = join(import.meta.dirname, "../../..");
const CJK = /[\u3400-\u9fff]/;
/** A function's source as tsx runs it: esbuild writes non-ASCII characters as \uXXXX escapes. */
const CJK_SOURCE = /[\u3400-\u9fff]|\\u(3[4-9a-f]|[4-9][0-9a-f])[0-9a-f]{2}/i;

/** Every leaf of a catalogue: its dotted path and value. */
function leaves(o: unknown, path = ""): Array<[string, unknown]> {
  if (typeof o === "object" && o !== null) return Object.entries(o).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
  return [[path, o]];
}

/** Chinese messages that are only a layout of values (identifiers, numbers, arrows): nothing to translate. */
const FORMAT_ONLY = new Set([
  "core.output.stepStarted",
  "core.exit.sep",
  "cli.initEnv.sep",
  "cli.initEnv.invalid",
  "project.config.keyProblem",
  "components.common.entry",
  "components.common.listSep",
  "components.common.diffSep",
  "components.common.unmovedAt",
  "components.uploads.count",
  "restore.plan.backup",
  "restore.plan.releaseChanges",
  "restore.cli.rollback.pickLabel",
  "restore.cli.rollback.pickHint",
  "migrate.cli.status.row",
  "migrate.run.undoHint",
  "deploy.ledger.resultInPhase",
  "deploy.tlsPhase.step",
  "deploy.run.summaryNote",
  // Script names: the same words in every language.
  "demo.smoke.names.deploy",
  "demo.smoke.names.backup",
  "demo.smoke.names.verify",
  "demo.smoke.names.migrate",
]);

test("the language: CLAW_OPS_LANG first, then LC_ALL, LC_MESSAGES, LANG in POSIX order; zh* is Chinese, anything else English", () => {
  assert.equal(detectLang({}), "en");
  assert.equal(detectLang({ LANG: "zh_CN.UTF-8" }), "zh");
  assert.equal(detectLang({ LANG: "zh_TW.UTF-8" }), "zh");
  assert.equal(detectLang({ LANG: "C.UTF-8" }), "en");
  assert.equal(detectLang({ LC_ALL: "en_US.UTF-8", LANG: "zh_CN.UTF-8" }), "en");
  assert.equal(detectLang({ LC_MESSAGES: "zh_CN.UTF-8", LANG: "en_US.UTF-8" }), "zh");
  assert.equal(detectLang({ CLAW_OPS_LANG: "en", LANG: "zh_CN.UTF-8" }), "en");
  assert.equal(detectLang({ CLAW_OPS_LANG: "zh" }), "zh");
  assert.equal(detectLang({ CLAW_OPS_LANG: "", LANG: "zh_CN.UTF-8" }), "zh");
  assert.equal(detectLang({ LANG: "zhx" }), "en");
});

test("the Chinese catalogue has exactly the English keys, each of the same kind (text or message with values)", () => {
  const en = new Map(leaves(catalogue("en")).map(([k, v]) => [k, typeof v]));
  const zh = new Map(leaves(catalogue("zh")).map(([k, v]) => [k, typeof v]));
  assert.deepEqual([...zh.keys()].sort(), [...en.keys()].sort());
  for (const [k, kind] of en) assert.equal(zh.get(k), kind, k);
  assert.ok(en.size > 500, `${en.size} messages`);
});

test("every Chinese message is Chinese (no English left behind), except pure layouts of values", () => {
  const english = leaves(catalogue("zh"))
    .filter(([k]) => !FORMAT_ONLY.has(k))
    .filter(([, v]) => !(typeof v === "function" ? CJK_SOURCE.test(v.toString()) : CJK.test(String(v))))
    .map(([k]) => k);
  assert.deepEqual(english, []);
});

test("table widths count a CJK character as two terminal cells", () => {
  assert.equal(displayWidth("backup"), 6);
  assert.equal(displayWidth("备份"), 4);
  assert.equal(displayWidth("备份 id"), 7);
  assert.equal(displayWidth("\u001b[32m回滚\u001b[0m"), 4);
  assert.equal(padCells("层级", 6), "层级  ");
  assert.equal(padCells("tier", 6), "tier  ");
});

function script(name: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync("npx", ["zx", `scripts/${name}.mts`, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, CLAW_OPS_LANG: "", LC_ALL: "", LC_MESSAGES: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("LANG=zh_CN.UTF-8: rollback.mts --help is Chinese, with the guide's words and every flag", () => {
  const r = script("rollback", ["--help"], { LANG: "zh_CN.UTF-8" });
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /用法：/);
  assert.match(r.out, /回滚/);
  assert.match(r.out, /--skip-config/);
  assert.match(r.out, /退出码：0 成功/);
  assert.doesNotMatch(r.out, /Usage:|leave PostgreSQL untouched/);
});

test("LANG=zh_CN.UTF-8: a missing .env.prod is refused in Chinese with the same exit code (3)", () => {
  const dir = mkdtempSync(join(tmpdir(), "claw-zh-"));
  const zh = script("backup", [], { LANG: "zh_CN.UTF-8", CLAW_OPS_PROJECT_DIR: dir });
  const en = script("backup", [], { LANG: "C.UTF-8", CLAW_OPS_PROJECT_DIR: dir });
  assert.equal(zh.status, 3, zh.out);
  assert.equal(en.status, 3, en.out);
  assert.match(zh.out, /\.env\.prod/);
  assert.ok(CJK.test(zh.out), zh.out);
  assert.ok(!CJK.test(en.out), en.out);
});
