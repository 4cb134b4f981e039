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
import { createStack, REPO_ROOT, removeStaleTestStacks } from "./harness.ts";
import { ensureImages } from "./images.ts";
import { startScript } from "./scripts.ts";

const cmd = process.argv[2] ?? "build";
const log = (m: string) => process.stderr.write(`[stack] ${m}\n`);
if (cmd === "down") {
  await removeStaleTestStacks();
  log("removed every clawtest-* container, network and volume");
  process.exit(0);
}
const t0 = Date.now();
const built = await ensureImages(log);
log(`images ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (rebuilt: ${built.length ? built.join(", ") : "none"})`);

if (cmd === "demo") {
  const stack = await createStack();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    log("tearing the stack down …");
    await stack.down();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  const t1 = Date.now();
  log(`deploying ${stack.name} from ${stack.dir} with scripts/deploy.mts …`);
  await removeStaleTestStacks();
  const deploy = startScript(stack, "deploy", ["-y"]);
  deploy.child.stdout!.pipe(process.stderr);
  deploy.child.stderr!.pipe(process.stderr);
  const r = await deploy.done;
  if (r.status !== 0) {
    log(`deploy.mts failed (exit ${r.status}); tearing the stack down`);
    await stack.down();
    process.exit(1);
  }
  const health = await stack.https("/health");
  log(`stack deployed and healthy in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
  // One short command per script: the project's variables live in this wrapper, not in a prefix to copy.
  const ops = join(stack.dir, "ops");
  const vars = ["CLAW_OPS_PROJECT_DIR", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"].map((k) => `${k}='${stack.scriptEnv[k]}'`).join(" ");
  writeFileSync(
    ops,
    `#!/bin/sh\n# ${stack.dir}/ops <script> [flags]: run a claw-ops script against the demo stack.\nscript="$1"; shift\ncd '${REPO_ROOT}' && exec env ${vars} npx zx "scripts/$script.mts" "$@"\n`,
  );
  chmodSync(ops, 0o755);
  console.log(`
CLAW.AI demo stack "${stack.name}" is up (project dir ${stack.dir}):
  https://localhost:${stack.httpsPort}/health     -> ${health.status} ${health.body}
  https://localhost:${stack.httpsPort}/grafana/   Grafana (stand-in)
  https://localhost:${stack.httpsPort}/flower/    Flower, basic auth user "${stack.env.FLOWER_USER}" (password in ${stack.dir}/.env.prod)
  http://127.0.0.1:9090                Prometheus
  http://127.0.0.1:3000                Grafana     http://127.0.0.1:3100  Loki
  http://127.0.0.1:9001 / :9002        MinIO API / console
Run the scripts against it:
  ${ops} deploy --status
  ${ops} backup
  ${ops} rollback --list
  ${ops} migrate --status
`);
  if (process.stdin.isTTY) {
    createInterface({ input: process.stdin }).question("Press Enter to stop and remove the demo stack … ", () => void stop());
  } else {
    log("no TTY: the stack stays up; remove it later with `npm run demo:down` (project dir stays in the temp dir)");
  }
}
