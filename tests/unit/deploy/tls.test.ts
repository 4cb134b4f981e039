import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CommandError, ExitCode, PreconditionError, UsageError } from "../../../lib/core/errors.ts";
import { applyTls, describeTlsPlan, planTls, type TlsInput, type TlsPlan, wantsRenewal } from "../../../lib/deploy/tls.ts";
import { type CertInspection, inspectCertificate } from "../../../lib/deploy/tls-certificate.ts";
import { certbotIneligible } from "../../../lib/deploy/tls-names.ts";
import { ensurePairLinks } from "../../../lib/deploy/tls-pairs.ts";
import { probeTls, resolvesHere } from "../../../lib/deploy/tls-probe.ts";
import {
  DEFAULT_RENEW_CRON,
  installRenewal,
  mergeRenewalCron,
  type RenewalTarget,
  renewalCronLine,
  renewalHookName,
  renewalHookScript,
} from "../../../lib/deploy/tls-renewal.ts";
import { assertShellSyntax, expectError, fakeBin, rejectsWith, tmp, write } from "../helpers.ts";

const DOMAIN = "api.claw-ai.com";
const EMAIL = "ops@claw-ai.com";
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Real certificates, made once with openssl (EC keys: fast).

const fixtures = tmp("tls-fixtures");

interface Pair {
  cert: string;
  key: string;
  dir: string;
  /** notBefore + days + 1 hour: a clock `days` into the certificate's life. */
  at(days: number): Date;
}

function makePair(name: string, o: { cn: string; san: string; days: number; ca?: { cert: string; key: string }; subj?: string }): Pair {
  const dir = join(fixtures, name);
  mkdirSync(dir, { recursive: true });
  const key = join(dir, "privkey.pem");
  const cert = join(dir, "fullchain.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      ...(o.ca ? ["-CA", o.ca.cert, "-CAkey", o.ca.key] : []),
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      String(o.days),
      "-subj",
      o.subj ?? `/CN=${o.cn}`,
      ...(o.san ? ["-addext", `subjectAltName=${o.san}`] : []),
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  const notBefore = new Date(new X509Certificate(readFileSync(cert)).validFrom).getTime();
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8"), dir, at: (days) => new Date(notBefore + days * DAY + 3_600_000) };
}

const ca = makePair("ca", { cn: "R11", subj: "/C=US/O=Let's Encrypt/CN=R11", san: "", days: 365 });
const caFiles = { cert: join(ca.dir, "fullchain.pem"), key: join(ca.dir, "privkey.pem") };
const otherCa = makePair("other-ca", { cn: "Corp CA", subj: "/O=Corp/CN=Corp CA", san: "", days: 365 });
const otherCaFiles = { cert: join(otherCa.dir, "fullchain.pem"), key: join(otherCa.dir, "privkey.pem") };
/** Issued by "Let's Encrypt", 60 days. */
const le60 = makePair("le60", { cn: DOMAIN, san: `DNS:${DOMAIN}`, days: 60, ca: caFiles });
/** Issued by another CA, 60 days. */
const corp60 = makePair("corp60", { cn: DOMAIN, san: `DNS:${DOMAIN}`, days: 60, ca: otherCaFiles });
const corp10 = makePair("corp10", { cn: DOMAIN, san: `DNS:${DOMAIN}`, days: 10, ca: otherCaFiles });
const self60 = makePair("self60", { cn: DOMAIN, san: `DNS:${DOMAIN}`, days: 60 });
const local = makePair("local", { cn: "localhost", san: "DNS:localhost,IP:127.0.0.1", days: 60 });

// ---------------------------------------------------------------------------------------------
// inspectCertificate

test("a matching, unexpired pair for the domain inspects with no problems, its days left counted from the clock given", () => {
  const i = inspectCertificate(corp60.cert, corp60.key, corp60.at(0), DOMAIN);
  assert.deepEqual(
    { ...i, notAfter: undefined },
    {
      subject: `CN=${DOMAIN}`,
      issuer: "O=Corp\nCN=Corp CA",
      notAfter: undefined,
      daysLeft: 59,
      matchesKey: true,
      coversDomain: true,
      selfSigned: false,
      letsEncrypt: false,
      problems: [],
    },
  );
  assert.equal(i.notAfter?.getTime(), new Date(new X509Certificate(corp60.cert).validTo).getTime());
  assert.equal(inspectCertificate(corp10.cert, corp10.key, corp10.at(0), DOMAIN).daysLeft, 9);
  assert.equal(inspectCertificate(corp60.cert, corp60.key, corp60.at(50), DOMAIN).daysLeft, 9);
});

test("an expired certificate, and one not valid yet, are problems", () => {
  const expired = inspectCertificate(corp10.cert, corp10.key, corp10.at(11), DOMAIN);
  assert.equal(expired.daysLeft, -2);
  assert.deepEqual(expired.problems, [`expired on ${expired.notAfter?.toISOString()}`]);
  const early = inspectCertificate(corp10.cert, corp10.key, corp10.at(-1), DOMAIN);
  assert.match(early.problems.join(), /^not valid before /);
});

test("the key of another certificate does not match, and a missing or garbled key is named as such", () => {
  const wrong = inspectCertificate(corp60.cert, le60.key, corp60.at(0), DOMAIN);
  assert.equal(wrong.matchesKey, false);
  assert.deepEqual(wrong.problems, ["privkey.pem is not the key of fullchain.pem"]);
  for (const key of ["", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"]) {
    assert.deepEqual(inspectCertificate(corp60.cert, key, corp60.at(0), DOMAIN).problems, [
      "privkey.pem is missing or not an unencrypted PEM private key",
    ]);
  }
});

test("a certificate for another name does not cover the domain; the localhost one covers localhost and 127.0.0.1", () => {
  const other = inspectCertificate(corp60.cert, corp60.key, corp60.at(0), "www.claw-ai.com");
  assert.equal(other.coversDomain, false);
  assert.deepEqual(other.problems, [`issued for DNS:${DOMAIN}, not for www.claw-ai.com`]);
  for (const name of ["localhost", "127.0.0.1"]) assert.deepEqual(inspectCertificate(local.cert, local.key, local.at(0), name).problems, [], name);
  assert.equal(inspectCertificate(local.cert, local.key, local.at(0), "127.0.0.2").coversDomain, false);
  assert.equal(inspectCertificate(corp60.cert, corp60.key, corp60.at(0)).coversDomain, true, "no domain: any name");
});

test("a self-signed certificate is recognised, and one issued by Let's Encrypt is recognised as renewable", () => {
  const s = inspectCertificate(self60.cert, self60.key, self60.at(0), DOMAIN);
  assert.deepEqual([s.selfSigned, s.letsEncrypt, s.problems], [true, false, []]);
  const le = inspectCertificate(le60.cert, le60.key, le60.at(0), DOMAIN);
  assert.deepEqual([le.selfSigned, le.letsEncrypt, le.problems], [false, true, []]);
});

test("a file that is not a certificate inspects as unusable instead of throwing", () => {
  const i = inspectCertificate("hello", corp60.key, new Date(), DOMAIN);
  assert.equal(i.notAfter, undefined);
  assert.deepEqual(i.problems, ["fullchain.pem is missing or not a PEM certificate"]);
});

// ---------------------------------------------------------------------------------------------
// planTls: decisions as data

const NOW = new Date("2026-03-01T00:00:00Z");
const ROOT = "/srv/claw ai";

function insp(o: Partial<CertInspection> = {}): CertInspection {
  return {
    subject: `CN=${DOMAIN}`,
    issuer: "C=US\nO=Let's Encrypt\nCN=R11",
    notAfter: new Date(NOW.getTime() + 60 * DAY),
    daysLeft: 60,
    matchesKey: true,
    coversDomain: true,
    selfSigned: false,
    letsEncrypt: true,
    problems: [],
    ...o,
  };
}
const selfSigned = insp({ issuer: `CN=${DOMAIN}`, selfSigned: true, letsEncrypt: false });

/** Everything in place for certbot, no pair yet. */
function input(o: Partial<TlsInput> = {}): TlsInput {
  return { root: ROOT, domain: DOMAIN, email: EMAIL, now: NOW, certbotInstalled: true, domainResolvesHere: true, nginxRunning: true, ...o };
}

const certbotArgv = (how: string[]) => [
  "certbot",
  "certonly",
  ...how,
  "--non-interactive",
  "--agree-tos",
  "--no-eff-email",
  "-m",
  EMAIL,
  "--cert-name",
  DOMAIN,
  "-d",
  DOMAIN,
  "--keep-until-expiring",
];
const WEBROOT_PLAN: TlsPlan = {
  action: "certbot",
  domain: DOMAIN,
  mode: "webroot",
  argv: certbotArgv(["--webroot", "-w", "/srv/claw ai/nginx/certbot"]),
  lineage: `/etc/letsencrypt/live/${DOMAIN}`,
  warnings: [],
};

const loud = (why: string) =>
  `!!! SELF-SIGNED certificate for ${DOMAIN}: browsers and API clients will reject HTTPS until a trusted one is in nginx/ssl. Certbot was not used: ${why} !!!`;
const NOT_INSTALLED = "certbot is not installed (apt-get install certbot, then deploy again)";

test("a valid certificate from a CA is kept without a warning, even when certbot could be used", () => {
  const corp = insp({ issuer: "O=Corp\nCN=Corp CA", letsEncrypt: false });
  assert.deepEqual(planTls(input({ existing: corp })), {
    action: "keep",
    domain: DOMAIN,
    daysLeft: 60,
    selfSigned: false,
    renew: false,
    warnings: [],
  });
});

test("a kept Let's Encrypt certificate is renewed by certbot when certbot is installed, not when it is not", () => {
  assert.deepEqual(planTls(input({ existing: insp() })), {
    action: "keep",
    domain: DOMAIN,
    daysLeft: 60,
    selfSigned: false,
    renew: true,
    warnings: [],
  });
  const without = planTls(input({ existing: insp(), certbotInstalled: false }));
  assert.equal(without.action === "keep" && without.renew, false);
});

test("a kept certificate with fewer than 30 days left comes with a warning saying when it expires and what renews it", () => {
  const soon = insp({ daysLeft: 10, notAfter: new Date("2026-03-11T00:00:00Z") });
  assert.deepEqual(planTls(input({ existing: soon })).warnings, [
    "the certificate in nginx/ssl expires in 10 days (2026-03-11T00:00:00.000Z): `certbot renew` (cron) should renew it: check with `certbot renew --dry-run`",
  ]);
  const corp = { ...soon, letsEncrypt: false, daysLeft: 1 };
  assert.deepEqual(planTls(input({ existing: corp })).warnings, [
    "the certificate in nginx/ssl expires in 1 day (2026-03-11T00:00:00.000Z): replace it before then",
  ]);
  assert.deepEqual(planTls(input({ existing: insp({ daysLeft: 30 }) })).warnings, [], "30 days: no warning");
});

test("no pair and certbot usable: certbot in webroot mode when nginx runs, standalone when it does not", () => {
  assert.deepEqual(planTls(input()), WEBROOT_PLAN);
  assert.deepEqual(planTls(input({ nginxRunning: false })), {
    ...WEBROOT_PLAN,
    mode: "standalone",
    argv: certbotArgv(["--standalone"]),
  });
});

test("an unusable pair (expired, wrong key, wrong name) is replaced, and the plan says why", () => {
  const bad = insp({ daysLeft: -3, problems: ["expired on 2026-02-26T00:00:00.000Z", "privkey.pem is not the key of fullchain.pem"] });
  assert.deepEqual(planTls(input({ existing: bad })), {
    ...WEBROOT_PLAN,
    warnings: ["replacing the pair in nginx/ssl: expired on 2026-02-26T00:00:00.000Z; privkey.pem is not the key of fullchain.pem"],
  });
  assert.deepEqual(planTls(input({ existing: bad, certbotInstalled: false })), {
    action: "self-signed",
    domain: DOMAIN,
    reason: NOT_INSTALLED,
    warnings: [
      loud(NOT_INSTALLED),
      "replacing the pair in nginx/ssl: expired on 2026-02-26T00:00:00.000Z; privkey.pem is not the key of fullchain.pem",
    ],
  });
});

test("without certbot installed, a self-signed certificate is planned with a loud warning naming why", () => {
  assert.deepEqual(planTls(input({ certbotInstalled: false })), {
    action: "self-signed",
    domain: DOMAIN,
    reason: NOT_INSTALLED,
    warnings: [loud(NOT_INSTALLED)],
  });
});

test("a domain that does not resolve to this host gets a self-signed certificate, the warning naming where it points", () => {
  const elsewhere = planTls(input({ domainResolvesHere: false, resolvedTo: ["203.0.113.9", "2001:db8::9"] }));
  assert.equal(elsewhere.action, "self-signed");
  assert.equal(
    elsewhere.action === "self-signed" && elsewhere.reason,
    `${DOMAIN} resolves to 203.0.113.9, 2001:db8::9, not only to addresses of this host; point its A/AAAA records at this host and deploy again (behind NAT, put a certificate in nginx/ssl yourself)`,
  );
  const nowhere = planTls(input({ domainResolvesHere: false }));
  assert.match(nowhere.action === "self-signed" ? nowhere.reason : "", /^api\.claw-ai\.com does not resolve; /);
});

test("localhost, IP literals, example and test names, placeholders and single labels never go to certbot", () => {
  for (const domain of [
    "localhost",
    "app.localhost",
    "127.0.0.1",
    "::1",
    "203.0.113.7",
    "example.com",
    "api.example.org",
    "claw.test",
    "x.invalid",
    "box.local",
    "your-domain.com",
    "changeme.com",
    "claw",
  ]) {
    const p = planTls(input({ domain, existing: undefined }));
    assert.equal(p.action, "self-signed", domain);
    assert.ok(p.warnings[0]?.startsWith("!!! SELF-SIGNED"), domain);
    assert.notEqual(certbotIneligible(domain.toLowerCase()), undefined, domain);
  }
  assert.equal(certbotIneligible(DOMAIN), undefined);
  assert.equal(certbotIneligible("claw-ai.com"), undefined);
});

test("an empty domain, or one that is not a host name, is refused before anything (exit 3)", () => {
  for (const domain of ["", "  ", "https://claw-ai.com", "*.claw-ai.com", "claw ai.com", "-x.com", "a/b"]) {
    expectError(PreconditionError, ExitCode.precondition, () => planTls(input({ domain })));
  }
  assert.equal(planTls(input({ domain: "API.Claw-AI.com." })).domain, DOMAIN, "case and a trailing dot are normalised");
});

test("certbot usable but no DEPLOY_EMAIL and nothing to keep is refused at plan time (exit 2), naming the setting", () => {
  for (const email of [undefined, "", "  "]) {
    const e = expectError(UsageError, ExitCode.usage, () => planTls(input({ email })));
    assert.match(e.message, /DEPLOY_EMAIL is not set/);
    assert.match(e.hint ?? "", /--skip-ssl/);
  }
  assert.equal(planTls(input({ email: undefined, certbotInstalled: false })).action, "self-signed", "no certbot: no address needed");
});

test("an address that is not one, or that is at a domain receiving no mail, is refused (exit 2)", () => {
  for (const email of ["ops", "ops@claw", "o ps@claw-ai.com", "admin@example.com", "me@localhost"]) {
    expectError(UsageError, ExitCode.usage, () => planTls(input({ email })));
  }
});

test("a valid self-signed pair is kept with a loud warning while certbot cannot be used, and replaced once it can", () => {
  assert.deepEqual(planTls(input({ existing: selfSigned, certbotInstalled: false })), {
    action: "keep",
    domain: DOMAIN,
    daysLeft: 60,
    selfSigned: true,
    renew: false,
    warnings: [loud(NOT_INSTALLED)],
  });
  const noEmail = planTls(input({ existing: selfSigned, email: undefined }));
  assert.equal(noEmail.action, "keep");
  assert.match(noEmail.warnings[0] ?? "", /Certbot was not used: DEPLOY_EMAIL is not set/);
  assert.deepEqual(planTls(input({ existing: selfSigned })), { ...WEBROOT_PLAN, warnings: ["replacing the self-signed certificate in nginx/ssl"] });
});

test("renewal is installed for certbot and kept Let's Encrypt certificates only", () => {
  assert.equal(wantsRenewal(planTls(input())), true);
  assert.equal(wantsRenewal(planTls(input({ existing: insp() }))), true);
  assert.equal(wantsRenewal(planTls(input({ existing: insp({ letsEncrypt: false }) }))), false);
  assert.equal(wantsRenewal(planTls(input({ certbotInstalled: false }))), false);
  assert.equal(wantsRenewal(planTls(input({ existing: selfSigned, certbotInstalled: false }))), false);
});

test("each plan is described in one line", () => {
  assert.equal(describeTlsPlan(WEBROOT_PLAN), `TLS: certbot (webroot) for ${DOMAIN}, copied from /etc/letsencrypt/live/${DOMAIN} into nginx/ssl`);
  assert.equal(describeTlsPlan(planTls(input({ existing: insp() }))), `TLS: keep the certificate in nginx/ssl for ${DOMAIN} (60 days left)`);
  assert.equal(
    describeTlsPlan(planTls(input({ domain: "localhost" }))),
    "TLS: a self-signed certificate for localhost (90 days) in nginx/ssl: localhost is a local name; set DOMAIN in .env.prod to the public host name, or put your own certificate in nginx/ssl",
  );
});

// ---------------------------------------------------------------------------------------------
// probeTls and resolvesHere

test("a domain resolves here only when every address is this host's; loopback counts, nothing resolved does not", () => {
  const local = ["10.0.0.5", "fe80::1%eth0", "2001:db8::5"];
  assert.equal(resolvesHere(["10.0.0.5"], local), true);
  assert.equal(resolvesHere(["10.0.0.5", "2001:DB8::5"], local), true);
  assert.equal(resolvesHere(["::ffff:10.0.0.5", "fe80::1"], local), true);
  assert.equal(resolvesHere(["10.0.0.5", "203.0.113.9"], local), false);
  assert.equal(resolvesHere([], local), false);
  assert.equal(resolvesHere(["127.0.1.1", "::1"], []), true);
});

async function withPath<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test("probeTls reads the pair in nginx/ssl, finds certbot on PATH and counts localhost as here, without outside calls", async () => {
  const root = tmp("tls-probe");
  const empty = await withPath(fakeBin("certbot", "exit 1"), () => probeTls(root, "localhost"));
  assert.deepEqual(empty, { existing: undefined, certbotInstalled: false, domainResolvesHere: true, resolvedTo: empty.resolvedTo });
  write(root, "nginx/ssl/fullchain.pem", local.cert);
  write(root, "nginx/ssl/privkey.pem", local.key, 0o600);
  const found = await withPath(fakeBin("certbot", "echo certbot 2.9.0"), () => probeTls(root, "127.0.0.1", { now: local.at(1) }));
  assert.deepEqual([found.certbotInstalled, found.domainResolvesHere, found.resolvedTo], [true, true, ["127.0.0.1"]]);
  assert.deepEqual(found.existing?.problems, []);
  assert.equal(found.existing?.selfSigned, true);
  const elsewhere = await probeTls(root, "203.0.113.9");
  assert.equal(elsewhere.domainResolvesHere, false);
  assert.equal((await probeTls(root, "203.0.113.9", { extraAddresses: ["203.0.113.9"] })).domainResolvesHere, true, "a NAT address given counts");
  rmKey(root);
  assert.deepEqual((await probeTls(root, "localhost", { now: local.at(1) })).existing?.problems, [
    "privkey.pem is missing or not an unencrypted PEM private key",
  ]);
});

const rmKey = (root: string) => rmSync(join(root, "nginx/ssl/privkey.pem"));

// ---------------------------------------------------------------------------------------------
// applyTls, for real in a temp dir

const sslFiles = (root: string) => readdirSync(join(root, "nginx/ssl")).sort();
/** nginx/ssl once claw-ops installed a pair: two names linked through `current`, the pairs beside. */
const LINKED = ["current", "fullchain.pem", "pairs", "privkey.pem"];
const mode = (p: string) => statSync(p).mode & 0o777;
const selfSignedPlan = (domain: string): TlsPlan => ({ action: "self-signed", domain, reason: "test", warnings: [] });

test("a self-signed certificate is written for real: both files, key 0600, cert 0644, a valid pair for the domain, no scratch left", async () => {
  for (const domain of [DOMAIN, "localhost", "203.0.113.7"]) {
    const root = tmp("tls-self");
    const out = await applyTls(root, selfSignedPlan(domain));
    assert.deepEqual(out, { action: "self-signed", changed: true });
    assert.deepEqual(sslFiles(root), LINKED);
    assert.equal(mode(join(root, "nginx/ssl/privkey.pem")), 0o600);
    assert.equal(mode(join(root, "nginx/ssl/fullchain.pem")), 0o644);
    const cert = readFileSync(join(root, "nginx/ssl/fullchain.pem"));
    const i = inspectCertificate(cert, readFileSync(join(root, "nginx/ssl/privkey.pem")), new Date(), domain);
    assert.deepEqual([i.problems, i.selfSigned, i.daysLeft], [[], true, 89], domain);
    if (domain === "localhost")
      assert.equal(inspectCertificate(cert, readFileSync(join(root, "nginx/ssl/privkey.pem")), new Date(), "127.0.0.1").coversDomain, true);
  }
});

test("a good pair already in nginx/ssl is never overwritten by a self-signed one; an unusable pair is", async () => {
  const root = tmp("tls-keep");
  write(root, "nginx/ssl/fullchain.pem", corp60.cert);
  write(root, "nginx/ssl/privkey.pem", corp60.key, 0o600);
  assert.deepEqual(await applyTls(root, selfSignedPlan(DOMAIN)), { action: "self-signed", changed: false });
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), corp60.cert);
  assert.equal(readFileSync(join(root, "nginx/ssl/privkey.pem"), "utf8"), corp60.key);

  write(root, "nginx/ssl/privkey.pem", le60.key, 0o600); // the key of another certificate
  assert.deepEqual(await applyTls(root, selfSignedPlan(DOMAIN)), { action: "self-signed", changed: true });
  const i = inspectCertificate(
    readFileSync(join(root, "nginx/ssl/fullchain.pem")),
    readFileSync(join(root, "nginx/ssl/privkey.pem")),
    new Date(),
    DOMAIN,
  );
  assert.deepEqual([i.problems, i.selfSigned], [[], true]);
});

test("keep touches nothing", async () => {
  const root = tmp("tls-noop");
  assert.deepEqual(await applyTls(root, { action: "keep", domain: DOMAIN, daysLeft: 60, selfSigned: false, renew: false, warnings: [] }), {
    action: "keep",
    changed: false,
  });
  assert.equal(existsSync(join(root, "nginx")), false);
});

/** A fake certbot that records its argv, one per line, and exits with `status`. */
function fakeCertbot(log: string, status = 0): string {
  return fakeBin(
    "certbot",
    `for a in "$@"; do printf '%s\\n' "$a"; done > '${log}'\n[ ${status} -eq 0 ] || echo 'Challenge failed for domain' >&2\nexit ${status}`,
  );
}

test("certbot is run with the plan's argv, and the lineage's pair is copied into nginx/ssl (key 0600), webroot dir created", async () => {
  const root = tmp("tls-certbot");
  const log = join(root, "argv.txt");
  const plan: TlsPlan = { ...WEBROOT_PLAN, argv: certbotArgv(["--webroot", "-w", join(root, "nginx/certbot")]), lineage: le60.dir };
  const out = await withPath(fakeCertbot(log), () => applyTls(root, plan, { now: le60.at(0) }));
  assert.deepEqual(out, { action: "certbot", changed: true });
  assert.deepEqual(readFileSync(log, "utf8").trimEnd().split("\n"), plan.argv.slice(1));
  assert.ok(statSync(join(root, "nginx/certbot")).isDirectory());
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), le60.cert);
  assert.equal(readFileSync(join(root, "nginx/ssl/privkey.pem"), "utf8"), le60.key);
  assert.equal(mode(join(root, "nginx/ssl/privkey.pem")), 0o600);
  assert.deepEqual(sslFiles(root), LINKED);
});

test("a certbot failure is an error with a hint about port 80, and leaves nginx/ssl as it was", async () => {
  const root = tmp("tls-certbot-fail");
  write(root, "nginx/ssl/fullchain.pem", self60.cert);
  write(root, "nginx/ssl/privkey.pem", self60.key, 0o600);
  const plan: TlsPlan = { ...WEBROOT_PLAN, mode: "standalone", argv: certbotArgv(["--standalone"]), lineage: le60.dir };
  const e = await withPath(fakeCertbot(join(root, "argv.txt"), 1), () => rejectsWith(applyTls(root, plan), CommandError, /Challenge failed/));
  assert.match(
    e.hint ?? "",
    /^port 80 must be free on this host and reach it from the internet, and certbot must run as root; or deploy with --skip-ssl$/,
  );
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), self60.cert);
  assert.deepEqual(sslFiles(root), ["fullchain.pem", "privkey.pem"]);
});

// ---------------------------------------------------------------------------------------------
// Renewal

const COMPOSE = ["docker", "compose", "-f", "/srv/claw ai/docker-compose.prod.yml", "--env-file", "/srv/claw ai/.env.prod", "-p", "claw"];
const target = (root: string): RenewalTarget => ({ root, domain: DOMAIN, composeArgv: COMPOSE, nginxService: "nginx" });

test("the hook's name is one per project root", () => {
  assert.match(renewalHookName("/srv/claw"), /^claw-ai-[0-9a-f]{12}\.sh$/);
  assert.equal(renewalHookName("/srv/claw"), renewalHookName("/srv/claw"));
  assert.notEqual(renewalHookName("/srv/claw"), renewalHookName("/srv/claw2"));
});

test("the hook is valid sh and reloads nginx with each compose argument quoted", () => {
  const script = renewalHookScript(target("/srv/claw ai"));
  assertShellSyntax(script);
  assert.ok(script.startsWith("#!/bin/sh\n"));
  assert.ok(script.includes("\nssl='/srv/claw ai/nginx/ssl'\n"));
  assert.ok(script.includes(`\nlineage=/etc/letsencrypt/live/${DOMAIN}\n`));
  assert.ok(
    script.endsWith(
      "\ncd '/srv/claw ai'\ndocker compose -f '/srv/claw ai/docker-compose.prod.yml' --env-file '/srv/claw ai/.env.prod' -p claw exec -T nginx nginx -s reload\n",
    ),
  );
  assert.throws(() => renewalHookScript({ ...target("/srv/x\ny") }), UsageError);
});

test("run for real, the hook copies its own renewed lineage into nginx/ssl and reloads nginx; another lineage is left alone", () => {
  const root = join(tmp("tls-hook"), "claw o'ps");
  write(root, "nginx/ssl/fullchain.pem", self60.cert);
  write(root, "nginx/ssl/privkey.pem", self60.key, 0o600);
  const live = tmp("tls-live");
  write(live, `${DOMAIN}/fullchain.pem`, le60.cert);
  write(live, `${DOMAIN}/privkey.pem`, le60.key, 0o600);
  const calls = join(tmp("tls-calls"), "docker.txt");
  const bin = fakeBin("docker", `printf '%s\\n' "$PWD" "$@" > '${calls}'`);
  const hook = join(tmp("tls-hooks"), "hook.sh");
  const compose = ["docker", "compose", "-f", join(root, "docker-compose.prod.yml"), "-p", "claw"];
  writeFileSync(
    hook,
    renewalHookScript({ root, domain: DOMAIN, composeArgv: compose, nginxService: "proxy" }, { pathValue: `${bin}:/usr/bin:/bin`, liveDir: live }),
    {
      mode: 0o755,
    },
  );
  const runHook = (lineage: string) => spawnSync(hook, [], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", RENEWED_LINEAGE: lineage } });
  // A plain pair (the older layout) refuses; deploy makes the layout before it installs the hook.
  assert.equal(runHook(join(live, DOMAIN)).status, 1);
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), self60.cert);
  ensurePairLinks(root);
  assert.deepEqual(sslFiles(root), LINKED);
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), self60.cert, "the same pair, now through the links");

  const other = runHook(join(live, "other.example"));
  assert.equal(other.status, 0, other.stderr);
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), self60.cert);
  assert.equal(existsSync(calls), false);

  const ours = runHook(join(live, DOMAIN));
  assert.equal(ours.status, 0, ours.stderr);
  assert.equal(readFileSync(join(root, "nginx/ssl/fullchain.pem"), "utf8"), le60.cert);
  assert.equal(readFileSync(join(root, "nginx/ssl/privkey.pem"), "utf8"), le60.key);
  assert.equal(mode(join(root, "nginx/ssl/privkey.pem")), 0o600);
  assert.equal(mode(join(root, "nginx/ssl/fullchain.pem")), 0o644);
  assert.deepEqual(sslFiles(root), LINKED);
  assert.match(readlinkSync(join(root, "nginx/ssl/current")), /^pairs\/renew-\d{14}-\d+$/);
  assert.deepEqual(readFileSync(calls, "utf8").trimEnd().split("\n"), [root, ...compose.slice(1), "exec", "-T", "proxy", "nginx", "-s", "reload"]);
});

const CRON = `${DEFAULT_RENEW_CRON} certbot renew --quiet # claw-ops: certbot renew`;

test("the renewal cron line runs certbot renew daily at 03:17 by default, validated like the backup's", () => {
  assert.equal(renewalCronLine(), "17 3 * * * certbot renew --quiet # claw-ops: certbot renew");
  assert.equal(renewalCronLine(" 0  4 * * 1 ", "/snap/bin/certbot"), "0 4 * * 1 /snap/bin/certbot renew --quiet # claw-ops: certbot renew");
  assert.equal(renewalCronLine("@daily", "/opt/my bin/certbot"), "@daily '/opt/my bin/certbot' renew --quiet # claw-ops: certbot renew");
  for (const bad of ["0 0 3 * * *", "61 3 * * *", "", "17 3 * *"]) expectError(UsageError, ExitCode.usage, () => renewalCronLine(bad));
});

test("merging the renewal line twice leaves one line; every other line, a disabled copy included, is untouched", () => {
  const others =
    "MAILTO=ops@claw-ai.com\n0 2 * * * cd /srv/claw && npx zx scripts/backup.mts >> logs/backup.log 2>&1\n# 17 3 * * * certbot renew --quiet # claw-ops: certbot renew\n";
  const once = mergeRenewalCron(others, CRON);
  assert.deepEqual(once, { text: `${others}${CRON}\n`, changed: true });
  assert.deepEqual(mergeRenewalCron(once.text, CRON), { text: once.text, changed: false });
  const moved = renewalCronLine("0 5 * * *");
  assert.deepEqual(mergeRenewalCron(`${CRON}\n${others}`, moved), { text: `${moved}\n${others}`, changed: true }, "replaced in place");
  assert.deepEqual(mergeRenewalCron("", CRON), { text: `${CRON}\n`, changed: true });
});

test("installRenewal writes the hook 0755 and the cron line once; installing again changes nothing", async () => {
  const dir = tmp("tls-renewal");
  const tab = join(dir, "crontab.txt");
  writeFileSync(tab, "MAILTO=root\n");
  const bin = fakeBin(
    "crontab",
    `f='${tab}'\nif [ "$1" = -l ]; then [ -f "$f" ] && cat "$f" && exit 0; echo "no crontab for root" >&2; exit 1; fi\n[ "$1" = - ] && cat > "$f"`,
  );
  const hooks = join(dir, "renewal-hooks/deploy");
  const t = target("/srv/claw ai");
  const o = { hooksDir: hooks, certbot: "/usr/bin/certbot", pathValue: "/usr/bin:/bin" };
  const first = await withPath(bin, () => installRenewal(t, o));
  const hook = join(hooks, renewalHookName("/srv/claw ai"));
  assert.deepEqual(first, { hook, hookChanged: true, cronChanged: true });
  assert.equal(mode(hook), 0o755);
  assert.equal(readFileSync(hook, "utf8"), renewalHookScript(t, { pathValue: "/usr/bin:/bin" }));
  const line = "17 3 * * * /usr/bin/certbot renew --quiet # claw-ops: certbot renew";
  assert.equal(readFileSync(tab, "utf8"), `MAILTO=root\n${line}\n`);

  const again = await withPath(bin, () => installRenewal(t, o));
  assert.deepEqual(again, { hook, hookChanged: false, cronChanged: false });
  assert.equal(readFileSync(tab, "utf8"), `MAILTO=root\n${line}\n`);
  assert.deepEqual(readdirSync(hooks), [renewalHookName("/srv/claw ai")], "no temp file left");
});

test("hardening row 9: a new pair is served by one rename of `current`; a plain pair is first linked with the same content; two pairs are kept", async () => {
  const root = tmp("tls-flip");
  write(root, "nginx/ssl/fullchain.pem", corp60.cert);
  write(root, "nginx/ssl/privkey.pem", le60.key, 0o600); // unusable: the key of another certificate
  ensurePairLinks(root);
  const ssl = join(root, "nginx/ssl");
  assert.equal(readlinkSync(join(ssl, "fullchain.pem")), "current/fullchain.pem");
  assert.equal(readlinkSync(join(ssl, "privkey.pem")), "current/privkey.pem");
  assert.equal(readlinkSync(join(ssl, "current")), "pairs/previous");
  assert.equal(readFileSync(join(ssl, "fullchain.pem"), "utf8"), corp60.cert);
  ensurePairLinks(root); // again: nothing changes
  assert.equal(readlinkSync(join(ssl, "current")), "pairs/previous");
  for (let i = 0; i < 3; i++) {
    write(root, "nginx/ssl/privkey.pem", le60.key, 0o600); // through the link: the served pair is broken again
    assert.deepEqual(await applyTls(root, selfSignedPlan(DOMAIN)), { action: "self-signed", changed: true });
  }
  const served = readlinkSync(join(ssl, "current"));
  assert.match(served, /^pairs\/\d{14}-\w+$/);
  assert.equal(readdirSync(join(ssl, "pairs")).length, 2, "the served pair and the one before");
  const i = inspectCertificate(readFileSync(join(ssl, "fullchain.pem")), readFileSync(join(ssl, "privkey.pem")), new Date(), DOMAIN);
  assert.deepEqual(i.problems, []);
  assert.equal(mode(join(ssl, "privkey.pem")), 0o600);
});
