import assert from "node:assert/strict";
import { test } from "node:test";
import { transientPullError } from "../../../lib/deploy/images.ts";

const DAEMON = "Error response from daemon:";

test("timeouts, connection resets and refusals, TLS handshake timeouts and a torn stream are transient", () => {
  for (const m of [
    `${DAEMON} Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`,
    `${DAEMON} Get "https://ghcr.io/v2/": dial tcp 140.82.112.33:443: i/o timeout`,
    "read tcp 10.0.0.2:51234->140.82.112.33:443: read: connection reset by peer",
    `${DAEMON} Get "https://ghcr.io/v2/": dial tcp 140.82.112.33:443: connect: connection refused`,
    `${DAEMON} Get "https://ghcr.io/v2/": net/http: TLS handshake timeout`,
    "operation timed out",
    "unexpected EOF",
    `${DAEMON} Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: Temporary failure in name resolution`,
  ]) {
    assert.equal(transientPullError(m), true, m);
  }
});

test("registry 5xx and 429 are transient", () => {
  for (const m of [
    "received unexpected HTTP status: 500 Internal Server Error",
    "received unexpected HTTP status: 502 Bad Gateway",
    "received unexpected HTTP status: 503 Service Unavailable",
    `${DAEMON} received unexpected HTTP status: 429 Too Many Requests`,
  ]) {
    assert.equal(transientPullError(m), true, m);
  }
});

test("a missing tag, a refused login and a bad reference are not transient", () => {
  for (const m of [
    `${DAEMON} manifest for ghcr.io/claw/backend:9.9 not found: manifest unknown: manifest unknown`,
    `${DAEMON} manifest unknown`,
    `${DAEMON} pull access denied for claw/backend, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
    `${DAEMON} Head "https://ghcr.io/v2/claw/backend/manifests/1.2": unauthorized: authentication required`,
    "invalid reference format",
    `${DAEMON} Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host`,
    "failed to register layer: write /var/lib/docker/tmp/x: no space left on device",
  ]) {
    assert.equal(transientPullError(m), false, m);
  }
});

test("a permanent error wins over a transient-looking word in the same message", () => {
  assert.equal(transientPullError(`${DAEMON} unauthorized: timeout while reading credentials`), false);
  assert.equal(transientPullError("received unexpected HTTP status: 503, then: manifest unknown"), false);
});

test("a Go context deadline (the daemon's usual timeout message) is transient", {}, () => {
  assert.equal(transientPullError(`${DAEMON} Get "https://ghcr.io/v2/": context deadline exceeded`), true);
});

test("x509 certificate errors and a registry on port 5000 are not mistaken for a 5xx", {}, () => {
  assert.equal(transientPullError(`${DAEMON} Get "https://ghcr.io/v2/": x509: certificate signed by unknown authority`), false);
  assert.equal(transientPullError(`${DAEMON} Get "https://registry.local:5000/v2/": http: server gave HTTP response to HTTPS client`), false);
});
