/**
 * `npm run images`: build (or reuse) the local test images.
 * `npm run demo`: build images, write a project directory and bring the whole stack up with
 * the real `deploy.mts` (what a new user's first command should exercise), print its URLs and
 * one short command per script. The stack keeps running until Enter (or Ctrl-C), then is torn
 * down with its volumes.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { msg } from "../../lib/core/i18n/index.ts";
import { createStack, REPO_ROOT, removeStaleTestStacks } from "./harness.ts";
import { ensureImages } from "./images.ts";
import { startScript } from "./scripts.ts";

const cmd = process.argv[2] ?? "build";
const log = (m: string) => process.stderr.write(`[stack] ${m}\n`);
if (cmd === "down") {
  await removeStaleTestStacks();
  log(msg.demo.removedAll);
  process.exit(0);
}
const t0 = Date.now();
const built = await ensureImages(log);
log(msg.demo.imagesReady({ secs: ((Date.now() - t0) / 1000).toFixed(1), rebuilt: built.join(", ") }));

if (cmd === "demo") {
  const stack = await createStack();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    log(msg.demo.tearingDown);
    await stack.down();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  const t1 = Date.now();
  log(msg.demo.deploying({ name: stack.name, dir: stack.dir }));
  await removeStaleTestStacks();
  const deploy = startScript(stack, "deploy", ["-y"]);
  deploy.child.stdout!.pipe(process.stderr);
  deploy.child.stderr!.pipe(process.stderr);
  const r = await deploy.done;
  if (r.status !== 0) {
    log(msg.demo.deployFailed({ status: String(r.status) }));
    await stack.down();
    process.exit(1);
  }
  const health = await stack.https("/health");
  log(msg.demo.deployed({ secs: ((Date.now() - t1) / 1000).toFixed(1) }));
  // One short command per script: the project's variables live in this wrapper, not in a prefix to copy.
  const ops = join(stack.dir, "ops");
  const vars = ["CLAW_OPS_PROJECT_DIR", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"].map((k) => `${k}='${stack.scriptEnv[k]}'`).join(" ");
  writeFileSync(
    ops,
    `#!/bin/sh\n# ${msg.demo.opsComment({ ops: ops })}\nscript="$1"; shift\ncd '${REPO_ROOT}' && exec env ${vars} npx zx "scripts/$script.mts" "$@"\n`,
  );
  chmodSync(ops, 0o755);
  console.log(
    msg.demo.banner({
      name: stack.name,
      dir: stack.dir,
      port: stack.httpsPort,
      health: `${health.status} ${health.body}`,
      flowerUser: stack.env.FLOWER_USER!,
      ops,
    }),
  );
  if (process.stdin.isTTY) {
    createInterface({ input: process.stdin }).question(msg.demo.pressEnter, () => void stop());
  } else {
    log(msg.demo.noTty);
  }
}
