/** English messages of `npm run demo` / `npm run smoke` (tests/stack/cli.ts, tests/stack/smoke.ts). */
export const demo = {
  removedAll: "removed every clawtest-* container, network and volume",
  imagesReady: (p: { secs: string; rebuilt: string }) => `images ready in ${p.secs}s (rebuilt: ${p.rebuilt || "none"})`,
  tearingDown: "tearing the stack down …",
  deploying: (p: { name: string; dir: string }) => `deploying ${p.name} from ${p.dir} with scripts/deploy.mts …`,
  deployFailed: (p: { status: string }) => `deploy.mts failed (exit ${p.status}); tearing the stack down`,
  deployed: (p: { secs: string }) => `stack deployed and healthy in ${p.secs}s`,
  opsComment: (p: { ops: string }) => `${p.ops} <script> [flags]: run a claw-ops script against the demo stack.`,
  banner: (p: { name: string; dir: string; port: number; health: string; flowerUser: string; ops: string }) => `
CLAW.AI demo stack "${p.name}" is up (project dir ${p.dir}):
  https://localhost:${p.port}/health     -> ${p.health}
  https://localhost:${p.port}/grafana/   Grafana (stand-in)
  https://localhost:${p.port}/flower/    Flower, basic auth user "${p.flowerUser}" (password in ${p.dir}/.env.prod)
  http://127.0.0.1:9090                Prometheus
  http://127.0.0.1:3000                Grafana     http://127.0.0.1:3100  Loki
  http://127.0.0.1:9001 / :9002        MinIO API / console
Run the scripts against it:
  ${p.ops} deploy --status
  ${p.ops} backup
  ${p.ops} rollback --list
  ${p.ops} migrate --status
`,
  pressEnter: "Press Enter to stop and remove the demo stack … ",
  noTty: "no TTY: the stack stays up; remove it later with `npm run demo:down` (project dir stays in the temp dir)",
  smoke: {
    check: (p: { ok: boolean; name: string; secs: string; detail: string }) =>
      `${p.ok ? "ok  " : "FAIL"} ${p.name} (${p.secs}s)${p.detail ? `: ${p.detail}` : ""}`,
    passed: (p: { n: number; secs: string }) => `smoke test passed: ${p.n} checks in ${p.secs}s`,
    failed: (p: { failed: number; n: number; secs: string }) => `smoke test FAILED: ${p.failed} of ${p.n} checks in ${p.secs}s`,
    names: {
      deploy: "deploy.mts",
      health: "GET /health through nginx",
      backup: "backup.mts",
      verify: "backup.mts --verify",
      migrate: "migrate.mts --status",
      down: "tear down",
    },
  },
};
