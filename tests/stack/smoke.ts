/**
 * `npm run smoke`: the smoke test any CI can call. A throwaway project from this checkout's
 * compose files (with the local images), then, one line per check: deploy.mts -y (the first
 * deploy brings the stack up), GET /health through nginx, backup.mts, backup.mts --verify,
 * migrate.mts --status, and the tear-down, which always runs. Exit 0 when every check passed,
 * 1 otherwise (the failing check prints its last lines).
 */
import { msg } from "../../lib/core/i18n/index.ts";
import { createStack, removeStaleTestStacks, type TestStack } from "./harness.ts";
import { ensureImages } from "./images.ts";
import { runScript, tailOf } from "./scripts.ts";

type CheckName = keyof typeof msg.demo.smoke.names;
const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
const t0 = Date.now();
let failed = 0;
let n = 0;

/** One check: its line, and whether the next ones still make sense. */
async function check(name: CheckName, fn: () => Promise<string | undefined>): Promise<boolean> {
  const t = Date.now();
  n++;
  try {
    const detail = (await fn()) ?? "";
    console.log(msg.demo.smoke.check({ ok: true, name: msg.demo.smoke.names[name], secs: secs(t), detail }));
    return true;
  } catch (e) {
    failed++;
    console.log(msg.demo.smoke.check({ ok: false, name: msg.demo.smoke.names[name], secs: secs(t), detail: (e as Error).message }));
    return false;
  }
}

const script = async (stack: TestStack, name: string, args: string[], ok: (status: number | null) => boolean = (s) => s === 0) => {
  const r = await runScript(stack, name, args);
  if (!ok(r.status)) throw new Error(tailOf(r, 8));
  return `exit ${r.status}`;
};

await ensureImages(() => undefined);
await removeStaleTestStacks();
const stack = await createStack();
try {
  (await check("deploy", () => script(stack, "deploy", ["-y"]))) &&
    (await check("health", async () => {
      const r = await stack.https("/health");
      if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.body.slice(0, 200)}`);
      return `${r.status} ${r.body.trim()}`;
    })) &&
    (await check("backup", () => script(stack, "backup", []))) &&
    (await check("verify", () => script(stack, "backup", ["--verify"]))) &&
    (await check("migrate", () => script(stack, "migrate", ["--status"])));
} finally {
  await check("down", async () => {
    await stack.down();
    return undefined;
  });
}
console.log(failed ? msg.demo.smoke.failed({ failed, n, secs: secs(t0) }) : msg.demo.smoke.passed({ n, secs: secs(t0) }));
process.exitCode = failed ? 1 : 0;
