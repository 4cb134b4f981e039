/**
 * A load client for the end-to-end deploy tests: N persistent HTTPS connections (one keep-alive
 * agent with one socket each, like N real clients) send requests back to back through nginx for
 * as long as the load runs: GET `getPath` (its JSON `version` is recorded) and, every
 * `postEvery`th request of a connection, POST `postPath` with `{"n": <counter>}`.
 *
 * A failure is any non-2xx status, a socket error, a timeout, or a 2xx GET without a version.
 * Nothing is retried: a retry would hide exactly the failures a deploy must not cause.
 */
import { Agent, request } from "node:https";
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  port: number;
  /** PEM text of the CA that signed the server's certificate. */
  ca: string;
  /** Address connected to; default "127.0.0.1". */
  host?: string;
  /** TLS server name (SNI and certificate check); default "localhost". The Host header is always "localhost". */
  servername?: string;
  /** Concurrent persistent connections; default 4. */
  connections?: number;
  /** Default "/version". */
  getPath?: string;
  /** Default "/echo". */
  postPath?: string;
  /** Every Nth request of a connection is a POST; default 3; 0 for GETs only. */
  postEvery?: number;
  /** A request not done in this time is a failure; default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Resend, once and on a new connection, a request whose reused keep-alive connection was
   * reset before any response byte came back: the server closed an idle connection just as the
   * request went out, so it never saw it (RFC 9112 §9.3.1; browsers do the same). Counted in
   * `staleRetries`, never hidden. Default false.
   */
  retryStaleKeepAlive?: boolean;
  /**
   * nginx's graceful reload starts the new workers before the old ones have taken their QUIT:
   * for a few milliseconds both answer (measured: 15 ms), so an old answer to a request sent
   * within this long after the new version first arrived is the handover, not a way back.
   * Default 100 ms.
   */
  handoverMs?: number;
}

export interface LoadFailure {
  /** When the request was sent, ms since the start. */
  at: number;
  path: string;
  method: string;
  status?: number;
  error?: string;
  /** How long it took to fail. */
  ms?: number;
}

export interface LoadReport {
  /** Requests sent (those still in flight included; after stop() there are none). */
  sent: number;
  ok: number;
  /** Every failure, also past the ones kept in `failures`. */
  failed: number;
  /** The first 50 failures. */
  failures: LoadFailure[];
  /** Over every completed request, failed ones included. */
  maxLatencyMs: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  durationMs: number;
  /** In the order first seen; times are when responses arrived, ms since the start. */
  versions: Array<{ version: string; firstAt: number; lastAt: number; count: number }>;
  /**
   * True if a version seen earlier reappeared after a newer one was seen: a GET sent after a
   * response with a newer version had arrived got an older version. (A request already in
   * flight when the new version first showed may still answer with the old one: that overlap is
   * a switch, not a way back.)
   */
  wentBack: boolean;
  /** The first way back, when there was one. */
  wentBackAt?: { at: number; version: string; after: string };
  /** Requests resent after a stale keep-alive reset (retryStaleKeepAlive), with when they were first sent. */
  staleRetries: number;
  staleRetriesAt: number[];
}

export interface Load {
  /** Stops sending, waits for the requests in flight (at most the timeout), closes the connections. */
  stop(): Promise<LoadReport>;
  /** The report so far; the load goes on. */
  snapshot(): LoadReport;
}

const MAX_FAILURES_KEPT = 50;

interface Outcome {
  status?: number;
  body?: string;
  error?: string;
  /** Reset on a reused keep-alive connection before any response: the server never read it. */
  stale?: boolean;
}

export function startLoad(o: LoadOptions): Load {
  const host = o.host ?? "127.0.0.1";
  const servername = o.servername ?? "localhost";
  const connections = o.connections ?? 4;
  const getPath = o.getPath ?? "/version";
  const postPath = o.postPath ?? "/echo";
  const postEvery = o.postEvery ?? 3;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const handoverMs = o.handoverMs ?? 100;
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`connections must be a positive integer, not ${connections}`);

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let stopping = false;
  let stoppedAt: number | undefined;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let posted = 0;
  const failures: LoadFailure[] = [];
  const latencies: number[] = [];
  let maxLatency = 0;
  const versions: LoadReport["versions"] = [];
  const versionIndex = new Map<string, number>();
  // The newest version (highest index in `versions`) a response has shown, and when it arrived.
  let newest = -1;
  let wentBackAt: LoadReport["wentBackAt"];
  let staleRetries = 0;
  const staleRetriesAt: number[] = [];

  function fail(f: LoadFailure): void {
    failed++;
    if (failures.length < MAX_FAILURES_KEPT) failures.push(f);
  }

  function sawVersion(version: string, sentAt: number, at: number): void {
    let i = versionIndex.get(version);
    if (i === undefined) {
      i = versions.length;
      versionIndex.set(version, i);
      versions.push({ version, firstAt: at, lastAt: at, count: 0 });
    }
    const v = versions[i]!;
    v.count++;
    v.lastAt = Math.max(v.lastAt, at);
    if (i < newest) {
      // Older than the newest seen: a way back if the newer one had arrived before this was sent.
      const n = versions[newest]!;
      if (n.firstAt + handoverMs <= sentAt && !wentBackAt) wentBackAt = { at, version, after: n.version };
    } else newest = i;
  }

  function send(agent: Agent, method: "GET" | "POST", path: string, body?: string): Promise<Outcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = request(
        {
          agent,
          host,
          port: o.port,
          path,
          method,
          ca: o.ca,
          servername,
          headers: {
            host: "localhost",
            ...(body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e) => finish({ status: res.statusCode ?? 0, error: describe(e, req.reusedSocket) }));
          res.on("aborted", () => finish({ status: res.statusCode ?? 0, error: "response aborted" }));
        },
      );
      const timer = setTimeout(() => {
        finish({ error: `timeout after ${timeoutMs} ms` });
        req.destroy();
      }, timeoutMs);
      req.on("error", (e) => {
        const code = (e as NodeJS.ErrnoException).code;
        const stale = req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE");
        finish({ error: describe(e, req.reusedSocket), ...(stale ? { stale: true } : {}) });
      });
      req.end(body);
    });
  }

  async function loop(agent: Agent): Promise<void> {
    for (let i = 1; !stopping; i++) {
      const post = postEvery > 0 && i % postEvery === 0;
      const method = post ? "POST" : "GET";
      const path = post ? postPath : getPath;
      const body = post ? JSON.stringify({ n: ++posted }) : undefined;
      sent++;
      const sentAt = now();
      let r = await send(agent, method, path, body);
      if (r.stale && o.retryStaleKeepAlive) {
        staleRetries++;
        if (staleRetriesAt.length < MAX_FAILURES_KEPT) staleRetriesAt.push(sentAt);
        r = await send(agent, method, path, body);
      }
      const at = now();
      const ms = at - sentAt;
      latencies.push(ms);
      if (ms > maxLatency) maxLatency = ms;
      const base = { at: sentAt, path, method, ms };
      if (r.error !== undefined) {
        fail({ ...base, ...(r.status ? { status: r.status } : {}), error: r.error });
      } else if (r.status === undefined || r.status < 200 || r.status > 299) {
        fail({ ...base, status: r.status ?? 0, error: `HTTP ${r.status}: ${(r.body ?? "").slice(0, 200)}` });
      } else if (post) {
        ok++;
      } else {
        const version = versionOf(r.body ?? "");
        if (version === undefined) fail({ ...base, status: r.status, error: `no "version" in ${JSON.stringify((r.body ?? "").slice(0, 200))}` });
        else {
          ok++;
          sawVersion(version, sentAt, at);
        }
      }
    }
  }

  const agents = Array.from({ length: connections }, () => new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }));
  const loops = agents.map((a) => loop(a));

  function report(): LoadReport {
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0);
    return {
      sent,
      ok,
      failed,
      failures: failures.map((f) => ({ ...f })),
      maxLatencyMs: maxLatency,
      p50LatencyMs: pct(50),
      p99LatencyMs: pct(99),
      durationMs: stoppedAt ?? now(),
      versions: versions.map((v) => ({ ...v })),
      wentBack: wentBackAt !== undefined,
      ...(wentBackAt ? { wentBackAt: { ...wentBackAt } } : {}),
      staleRetries,
      staleRetriesAt: [...staleRetriesAt],
    };
  }

  let stopped: Promise<LoadReport> | undefined;
  return {
    snapshot: report,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await Promise.all(loops);
        stoppedAt = now();
        for (const a of agents) a.destroy();
        return report();
      })();
      return stopped;
    },
  };
}

function versionOf(body: string): string | undefined {
  try {
    const v = (JSON.parse(body) as { version?: unknown }).version;
    return typeof v === "string" && v !== "" ? v : undefined;
  } catch {
    return undefined;
  }
}

function describe(e: unknown, reusedSocket: boolean): string {
  const err = e as NodeJS.ErrnoException;
  const text = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : (err.message ?? String(e));
  return reusedSocket ? `${text} (on a reused keep-alive connection)` : text;
}

/** One line for a test's log: sent, failed, latencies, versions. */
export function formatLoadReport(r: LoadReport): string {
  const versions = r.versions.map((v) => `${v.version} ×${v.count} (${Math.round(v.firstAt)}–${Math.round(v.lastAt)} ms)`).join(" → ");
  return (
    `${r.sent} requests in ${Math.round(r.durationMs)} ms, ${r.failed} failed; latency p50 ${r.p50LatencyMs.toFixed(1)} ms, ` +
    `p99 ${r.p99LatencyMs.toFixed(1)} ms, max ${r.maxLatencyMs.toFixed(1)} ms; versions ${versions || "none"}${r.wentBack ? " (WENT BACK)" : ""}` +
    `; stale keep-alive resets resent: ${r.staleRetries}`
  );
}
