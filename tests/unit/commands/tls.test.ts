import assert from "node:assert/strict";
import { test } from "node:test";
import { certbotCertonly, certbotRenew, certbotVersion, composeNginxReload, opensslSelfSigned, subjectAltName } from "../../../lib/commands/tls.ts";

const tail = [
  "--non-interactive",
  "--agree-tos",
  "--no-eff-email",
  "-m",
  "ops@claw-ai.com",
  "--cert-name",
  "api.claw-ai.com",
  "-d",
  "api.claw-ai.com",
  "--keep-until-expiring",
];

test("certbot is detected with --version", () => {
  assert.deepEqual(certbotVersion(), ["certbot", "--version"]);
});

test("certbot certonly in webroot mode answers the challenge from the directory nginx serves, without a prompt", () => {
  assert.deepEqual(certbotCertonly({ mode: "webroot", webroot: "/srv/claw ai/nginx/certbot", domain: "api.claw-ai.com", email: "ops@claw-ai.com" }), [
    "certbot",
    "certonly",
    "--webroot",
    "-w",
    "/srv/claw ai/nginx/certbot",
    ...tail,
  ]);
});

test("certbot certonly in standalone mode binds port 80 itself and takes no webroot", () => {
  assert.deepEqual(certbotCertonly({ mode: "standalone", domain: "api.claw-ai.com", email: "ops@claw-ai.com" }), [
    "certbot",
    "certonly",
    "--standalone",
    ...tail,
  ]);
});

test("certbot renew is quiet and can name certbot by its absolute path", () => {
  assert.deepEqual(certbotRenew(), ["certbot", "renew", "--quiet"]);
  assert.deepEqual(certbotRenew("/snap/bin/certbot"), ["/snap/bin/certbot", "renew", "--quiet"]);
});

test("the self-signed certificate is a fresh unencrypted RSA key and an x509 with one subjectAltName, 90 days by default", () => {
  assert.deepEqual(opensslSelfSigned({ domain: "api.claw-ai.com", isIp: false, keyOut: "/s/k.pem", certOut: "/s/c.pem" }), [
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "90",
    "-subj",
    "/CN=api.claw-ai.com",
    "-addext",
    "subjectAltName=DNS:api.claw-ai.com",
    "-keyout",
    "/s/k.pem",
    "-out",
    "/s/c.pem",
  ]);
  assert.deepEqual(opensslSelfSigned({ domain: "x.y", isIp: false, keyOut: "k", certOut: "c", days: 7 }).slice(6, 8), ["-days", "7"]);
});

test("localhost's self-signed certificate also covers 127.0.0.1, and an IP literal gets an IP entry", () => {
  assert.equal(subjectAltName("localhost", false), "subjectAltName=DNS:localhost,IP:127.0.0.1");
  assert.equal(subjectAltName("203.0.113.7", true), "subjectAltName=IP:203.0.113.7");
  assert.equal(subjectAltName("api.claw-ai.com", false), "subjectAltName=DNS:api.claw-ai.com");
});

test("nginx is reloaded inside its compose service, after the project's compose argv", () => {
  assert.deepEqual(composeNginxReload(["docker", "compose", "-f", "/srv/claw/docker-compose.prod.yml", "-p", "claw"], "nginx"), [
    "docker",
    "compose",
    "-f",
    "/srv/claw/docker-compose.prod.yml",
    "-p",
    "claw",
    "exec",
    "-T",
    "nginx",
    "nginx",
    "-s",
    "reload",
  ]);
  assert.deepEqual(composeNginxReload(["docker-compose"], "proxy"), ["docker-compose", "exec", "-T", "proxy", "nginx", "-s", "reload"]);
});
