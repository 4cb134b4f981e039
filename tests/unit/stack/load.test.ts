import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type LoadReport, startLoad } from "../../stack/load.ts";
import { tmp } from "../helpers.ts";

/** What the test server sees, and what it does with each request (set per test). */
interface Seen {
  gets: number;
  posts: number[];
  connections: number;
  hosts: Set<string>;
}
type Handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, body: string) => void;

let key = "";
let cert = "";
before(() => {
  const d = tmp("load");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", join(d, "key.pem"), "-out", join(d, "cert.pem")],
    ],
    { stdio: "ignore" },
  );
  key = readFileSync(join(d, "key.pem"), "utf8");
  cert = readFileSync(join(d, "cert.pem"), "utf8");
});

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.close();
    s.closeAllConnections();
  }
});

/** An HTTPS server on 127.0.0.1: `handle` answers each request once its body is read. */
async function serve(handle: Handler): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { gets: 0, posts: [], connections: 0, hosts: new Set() };
  const server = createServer({ key, cert }, (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.hosts.add(req.headers.host ?? "");
      if (req.method === "POST") seen.posts.push((JSON.parse(body) as { n: number }).n);
      else seen.gets++;
      handle(req, res, body);
    });
  });
  server.on("secureConnection", () => seen.connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** The healthy backend: GET → {"version": version()}, POST → the body echoed back. */
const backend =
  (version: () => string): Handler =>
  (req, res, body) => {
    res.setHeader("content-type", "application/json");
    res.end(req.method === "POST" ? body : JSON.stringify({ version: version() }));
  };

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function assertConsistent(r: LoadReport): void {
  assert.equal(r.sent, r.ok + r.failed, "after stop() nothing is in flight");
  assert.ok(r.p50LatencyMs <= r.p99LatencyMs && r.p99LatencyMs <= r.maxLatencyMs, JSON.stringify(r));
  assert.ok(r.maxLatencyMs > 0 && r.durationMs > 0);
}

test("a healthy server: every request ok, over exactly N persistent connections, GETs and every 3rd a POST", async () => {
  const { port, seen } = await serve(backend(() => "v1"));
  const load = startLoad({ port, ca: cert, connections: 4 });
  await until("200 requests", () => load.snapshot().ok >= 200);
  const r = await load.stop();
  assertConsistent(r);
  assert.equal(r.failed, 0, JSON.stringify(r.failures));
  assert.deepEqual(r.failures, []);
  assert.equal(r.sent, seen.gets + seen.posts.length, "the server saw every request, none twice");
  assert.equal(seen.connections, 4, "4 keep-alive connections, reused for every request");
  assert.deepEqual([...seen.hosts], ["localhost"]);
  // Each connection's 3rd, 6th, … request is a POST: a third of them, give or take one per connection.
  assert.ok(Math.abs(seen.posts.length - r.sent / 3) <= 4, `${seen.posts.length} POSTs of ${r.sent}`);
  assert.deepEqual(
    [...seen.posts].sort((a, b) => a - b),
    seen.posts.map((_, i) => i + 1),
    "POST bodies {n} count 1, 2, 3, …",
  );
  assert.equal(r.versions.length, 1);
  assert.deepEqual({ ...r.versions[0], firstAt: 0, lastAt: 0 }, { version: "v1", firstAt: 0, lastAt: 0, count: seen.gets });
  assert.equal(r.wentBack, false);
  assert.equal((await load.stop()).sent, r.sent, "stop() twice returns the same report");
});

test("502s and connection resets are failures, all counted (the list keeps the first 50), none retried", async () => {
  let n = 0;
  let bad502 = 0;
  let resets = 0;
  const ok = backend(() => "v1");
  const { port, seen } = await serve((req, res, body) => {
    n++;
    if (n % 5 === 0) {
      bad502++;
      res.writeHead(502, { "content-type": "text/html" }).end("<h1>502 Bad Gateway</h1>");
    } else if (n % 7 === 0) {
      resets++;
      req.socket.destroy();
    } else ok(req, res, body);
  });
  const load = startLoad({ port, ca: cert, connections: 3 });
  await until("more than 50 failures", () => load.snapshot().failed > 60);
  const r = await load.stop();
  assertConsistent(r);
  assert.equal(r.sent, seen.gets + seen.posts.length, "no request was retried");
  assert.equal(r.failed, bad502 + resets);
  assert.equal(r.ok, n - bad502 - resets);
  assert.equal(r.failures.length, 50);
  const with502 = r.failures.filter((f) => f.status === 502);
  const withError = r.failures.filter((f) => f.status === undefined);
  assert.ok(with502.length > 0 && withError.length > 0, JSON.stringify(r.failures));
  assert.equal(with502.length + withError.length, 50);
  assert.match(with502[0]!.error!, /HTTP 502/);
  for (const f of withError) assert.match(f.error!, /socket hang up|ECONNRESET/);
  for (const f of r.failures) {
    assert.ok(["GET", "POST"].includes(f.method) && ["/version", "/echo"].includes(f.path), JSON.stringify(f));
    assert.ok(f.at >= 0 && f.at <= r.durationMs);
  }
  assert.ok(seen.connections > 3, "a reset connection is replaced by a new one");
});

test("a request that takes longer than the timeout is a failure, and the load goes on", async () => {
  let held = 0;
  const ok = backend(() => "v1");
  const { port } = await serve((req, res, body) => {
    if (req.method === "GET" && held++ === 3) return; // never answered
    ok(req, res, body);
  });
  const load = startLoad({ port, ca: cert, connections: 2, timeoutMs: 1000 });
  await until("the timeout", () => load.snapshot().failed >= 1);
  const okThen = load.snapshot().ok;
  await until("more requests after it", () => load.snapshot().ok > okThen + 20);
  const r = await load.stop();
  assertConsistent(r);
  assert.equal(r.failed, 1);
  assert.match(r.failures[0]!.error!, /timeout after 1000 ms/);
  assert.ok(r.maxLatencyMs >= 990, String(r.maxLatencyMs)); // timers may fire a little before performance.now() says
});

test("a 2xx GET without a version in its body is a failure", async () => {
  const { port } = await serve((req, res, body) => (req.method === "GET" ? res.end("<html>nginx default page</html>") : res.end(body)));
  const load = startLoad({ port, ca: cert, connections: 1 });
  await until("a failure", () => load.snapshot().failed >= 2);
  const r = await load.stop();
  assert.equal(r.ok + r.failed, r.sent);
  assert.equal(r.failures[0]!.status, 200);
  assert.match(r.failures[0]!.error!, /no "version"/);
  assert.deepEqual(r.versions, []);
});

test("the version switch v1 → v2 is recorded; a flip back to v1 sets wentBack", async () => {
  let version = "v1";
  const { port } = await serve(backend(() => version));
  const load = startLoad({ port, ca: cert, postEvery: 0 });
  await until("v1", () => (load.snapshot().versions[0]?.count ?? 0) > 50);
  version = "v2";
  await until("v2", () => (load.snapshot().versions[1]?.count ?? 0) > 50);
  const mid = load.snapshot();
  assert.deepEqual(
    mid.versions.map((v) => v.version),
    ["v1", "v2"],
  );
  assert.equal(mid.wentBack, false, "in-flight v1 answers around the switch are not a way back");
  assert.ok(mid.versions[0]!.firstAt < mid.versions[1]!.firstAt);
  version = "v1";
  await until("v1 again", () => load.snapshot().wentBack);
  const r = await load.stop();
  assert.equal(r.failed, 0);
  assert.equal(r.wentBack, true);
  assert.equal(r.wentBackAt!.version, "v1");
  assert.equal(r.wentBackAt!.after, "v2");
  assert.ok(r.wentBackAt!.at > mid.versions[1]!.firstAt);
  assert.deepEqual(
    r.versions.map((v) => v.version),
    ["v1", "v2"],
  );
  assert.ok(r.versions[0]!.lastAt > r.versions[1]!.firstAt);
});

test("an old-version answer to a request sent before the new version showed is overlap, not a way back", async () => {
  let version = "v1";
  let hold: (() => void) | undefined;
  let holdNext = false;
  const ok = backend(() => version);
  const { port } = await serve((req, res, body) => {
    if (holdNext && req.method === "GET") {
      // This request was sent while v1 was live: answer v1, but only after v2 has been seen.
      holdNext = false;
      hold = () => res.setHeader("content-type", "application/json").end(JSON.stringify({ version: "v1" }));
      version = "v2";
      return;
    }
    ok(req, res, body);
  });
  const load = startLoad({ port, ca: cert, connections: 3, postEvery: 0 });
  await until("v1", () => (load.snapshot().versions[0]?.count ?? 0) > 20);
  holdNext = true;
  await until("v2", () => (load.snapshot().versions[1]?.count ?? 0) > 20);
  const v1Before = load.snapshot().versions[0]!.count;
  hold!();
  await until("the late v1", () => load.snapshot().versions[0]!.count === v1Before + 1);
  const r = await load.stop();
  assert.equal(r.failed, 0);
  assert.ok(r.versions[0]!.lastAt > r.versions[1]!.firstAt, "v1 arrived after v2 …");
  assert.equal(r.wentBack, false, "… but it was sent before v2 showed");
});

test("an old answer within the handover window after the new version first arrived (nginx's reload) is not a way back", async () => {
  let version = "v1";
  const { port } = await serve(backend(() => version));
  const load = startLoad({ port, ca: cert, postEvery: 0, handoverMs: 60_000 });
  await until("v1", () => (load.snapshot().versions[0]?.count ?? 0) > 20);
  version = "v2";
  await until("v2", () => (load.snapshot().versions[1]?.count ?? 0) > 20);
  version = "v1";
  await until("v1 again", () => (load.snapshot().versions[0]?.lastAt ?? 0) > (load.snapshot().versions[1]?.lastAt ?? 0));
  const r = await load.stop();
  assert.equal(r.wentBack, false);
});
