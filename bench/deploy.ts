/**
 * Deploy benchmark on the real local stack (a benchmark, not a test).
 *
 *   npx tsx bench/deploy.ts [--runs 3] [--connections 4] [--backup]
 *
 * Brings a fresh stack up with deploy.mts (the first deploy, timed), seeds the demo data, then
 * deploys a new tag `--runs` times (v2, v3, v2, …) while the load client sends GET /version and
 * POST /echo through nginx over HTTPS on N keep-alive connections, and prints a Markdown
 * section (median and spread of the deploy wall time and of the load figures): append it to
 * docs/BENCHMARKS.md. Without --backup the deploys skip the pre-deploy backup (its cost is the
 * backup benchmark's).
 */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { createStack } from "../tests/stack/harness.ts";
import { ensureImages, tagAppRelease } from "../tests/stack/images.ts";
import { formatLoadReport, type LoadReport, startLoad } from "../tests/stack/load.ts";
import { runScript, tailOf } from "../tests/stack/scripts.ts";
import { seed } from "../tests/stack/state.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, connections: { type: "string", default: "4" }, backup: { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const connections = Number(values.connections);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

await ensureImages(log);
for (const t of ["v2", "v3"]) await tagAppRelease(t);
const stack = await createStack({ env: { BEAT_TICK_SECONDS: "1" } });
const rows: Array<{ tag: string; wallS: number; load: LoadReport }> = [];
let firstS = 0;
try {
  let t0 = Date.now();
  const first = await runScript(stack, "deploy", ["-y"]);
  if (first.status !== 0) throw new Error(`first deploy failed: ${tailOf(first, 30)}`);
  firstS = (Date.now() - t0) / 1000;
  log(`first deploy from nothing: ${firstS.toFixed(1)} s`);
  await seed(stack);
  for (let i = 0; i < runs; i++) {
    const tag = i % 2 === 0 ? "v2" : "v3";
    const load = startLoad({ port: stack.httpsPort, ca: stack.caCert, connections, retryStaleKeepAlive: true });
    await new Promise((r) => setTimeout(r, 1000));
    t0 = Date.now();
    const r = await runScript(stack, "deploy", ["--tag", tag, ...(values.backup ? [] : ["--skip-backup"])]);
    const wallS = (Date.now() - t0) / 1000;
    await new Promise((res) => setTimeout(res, 1000));
    const report = await load.stop();
    if (r.status !== 0) throw new Error(`deploy ${tag} failed: ${tailOf(r, 30)}`);
    log(`deploy ${tag}: ${wallS.toFixed(1)} s; ${formatLoadReport(report)}`);
    rows.push({ tag, wallS, load: report });
  }
} finally {
  await stack.down();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[], d = 1) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
const wall = rows.map((r) => r.wallS);
const maxLat = rows.map((r) => r.load.maxLatencyMs);
console.log(`
## Deploy under load (${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB)

\`npx tsx bench/deploy.ts --runs ${runs} --connections ${connections}${values.backup ? " --backup" : ""}\`: first deploy from nothing ${firstS.toFixed(1)} s; then ${runs} deploys of a new tag${values.backup ? "" : " (--skip-backup)"} while ${connections} keep-alive HTTPS connections send GET /version and POST /echo (every 3rd) through nginx back to back.

| run | tag | deploy wall (s) | requests | failed | stale keep-alive resends | max latency (ms) | p99 (ms) | versions |
|---|---|---|---|---|---|---|---|---|
${rows
  .map(
    (r, i) =>
      `| ${i + 1} | ${r.tag} | ${r.wallS.toFixed(1)} | ${r.load.sent} | ${r.load.failed} | ${r.load.staleRetries} | ${r.load.maxLatencyMs.toFixed(0)} | ${r.load.p99LatencyMs.toFixed(0)} | ${r.load.versions.map((v) => v.version).join(" → ")}${r.load.wentBack ? " (went back)" : ""} |`,
  )
  .join("\n")}

Deploy wall time: median ${median(wall).toFixed(1)} s (spread ${spread(wall)} s); max latency median ${median(maxLat).toFixed(0)} ms (spread ${spread(maxLat, 0)} ms); failed requests in all runs: ${rows.reduce((s, r) => s + r.load.failed, 0)}.
`);
