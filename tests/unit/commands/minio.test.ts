import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MINIO_READY_CHECK } from "../../../lib/commands/minio.ts";
import { fakeBin, sh, tmp } from "../helpers.ts";

test("the MinIO ready check starts minio on $D at a loopback port, polls readiness until it answers, then stops it", async () => {
  const base = tmp("minio");
  const D = join(base, "data");
  mkdirSync(D);
  const calls = join(base, "curl-calls");
  const minio = fakeBin("minio", `echo "minio $*"\ntrap 'echo stopped; exit 0' TERM\nwhile :; do sleep 0.05; done`);
  const curl = fakeBin("curl", `echo "$*" >> '${calls}'\n[ "$(wc -l < '${calls}')" -ge 3 ]`);
  const r = sh(`D='${D}'\n${MINIO_READY_CHECK.join("\n")}`, { path: `${minio}:${curl}` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "MINIO READY\n");
  assert.deepEqual(readFileSync(calls, "utf8").split("\n").filter(Boolean), Array(3).fill("-fsS http://127.0.0.1:19000/minio/health/ready"));
  const log = () => readFileSync(`${D}.log`, "utf8");
  for (let i = 0; i < 100 && !log().includes("stopped"); i++) await sleep(20);
  assert.equal(log(), `minio server ${D} --address 127.0.0.1:19000\nstopped\n`);
});
