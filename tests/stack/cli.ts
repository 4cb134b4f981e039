/**
 * `npm run images`: build (or reuse) the local test images.
 * `npm run demo`: build images, bring the whole stack up on this machine, print its URLs.
 * The demo stack keeps running until Enter (or Ctrl-C), then is torn down with its volumes.
 */
import { createInterface } from "node:readline";
import { createStack, removeStaleTestStacks } from "./harness.ts";
import { ensureImages } from "./images.ts";

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
  log(`bringing ${stack.name} up from ${stack.dir} …`);
  try {
    await stack.up();
  } catch (e) {
    log(`stack failed: ${(e as Error).message}`);
    await stack.down();
    process.exit(1);
  }
  const health = await stack.https("/health");
  log(`stack healthy in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
  console.log(`
CLAW.AI demo stack "${stack.name}" is up (project dir ${stack.dir}):
  https://localhost:${stack.httpsPort}/health     -> ${health.status} ${health.body}
  https://localhost:${stack.httpsPort}/grafana/   Grafana (stand-in)
  https://localhost:${stack.httpsPort}/flower/    Flower, basic auth user "${stack.env.FLOWER_USER}" (password in ${stack.dir}/.env.prod)
  http://127.0.0.1:9090                Prometheus
  http://127.0.0.1:3000                Grafana     http://127.0.0.1:3100  Loki
  http://127.0.0.1:9001 / :9002        MinIO API / console
Run the scripts against it:
  CLAW_OPS_PROJECT_DIR=${stack.dir} COMPOSE_FILE=${stack.scriptEnv.COMPOSE_FILE} COMPOSE_PROJECT_NAME=${stack.name} npx zx scripts/backup.mts --help
`);
  if (process.stdin.isTTY) {
    createInterface({ input: process.stdin }).question("Press Enter to stop and remove the demo stack … ", () => void stop());
  } else {
    log("no TTY: the stack stays up; remove it later with `npm run demo:down` (project dir stays in the temp dir)");
  }
}
