/**
 * Deploy step 4, TLS (skipped with --skip-ssl): nginx serves nginx/ssl/{fullchain,privkey}.pem.
 *
 *   probeTls   (reads)  the pair in nginx/ssl, whether certbot is installed, whether DOMAIN
 *                       resolves to this host (its own interfaces only, no outside service)
 *   planTls    (pure)   keep | certbot (webroot when nginx runs, else standalone) | self-signed
 *   applyTls   (writes) the chosen pair, through a scratch dir in nginx/ssl and a rename
 *   installRenewal      a certbot deploy hook that copies renewed certificates in and reloads
 *                       nginx, and one `certbot renew` crontab line (idempotent)
 *
 * Decisions:
 * - A pair that is readable, matches, covers DOMAIN and has not expired is kept (a warning
 *   under 30 days). A valid *self-signed* pair is kept only while certbot cannot be used: once
 *   it can (installed, DOMAIN public and resolving here, DEPLOY_EMAIL set) the deploy replaces
 *   it, so a self-signed certificate made while DNS was not ready does not stay for good.
 * - Certbot usable but no DEPLOY_EMAIL, and no pair to keep: refused (UsageError, exit 2) at plan
 *   time, before anything is touched. A host that can get a trusted certificate should not
 *   quietly serve a self-signed one for want of one setting; --skip-ssl is the way out.
 * - Names Let's Encrypt cannot or must not issue for (empty, localhost, IP literals, the
 *   reserved example/test names, template placeholders, single labels) never reach certbot.
 * - A certbot failure is an error (the hint names port 80 and the webroot), never a silent
 *   self-signed fallback.
 *
 * A plan's and an inspection's texts (reason, warnings, problems) are English: they are data
 * (--json). shownTlsPlan and problemsIn give them in the operator's language, for the screen.
 */
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { lookup } from "node:dns/promises";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { basename, join } from "node:path";
import { dirOnPath, pinnedPath, readCrontab, replaceCrontabLines, validateCron, writeCrontab } from "../backup/schedule.ts";
import { type CertbotMode, certbotCertonly, certbotRenew, certbotVersion, composeNginxReload, opensslSelfSigned } from "../commands/tls.ts";
import { ClawError, PreconditionError, UsageError } from "../core/errors.ts";
import { canRun, run } from "../core/exec.ts";
import { type Catalogue, catalogue, msg } from "../core/i18n/index.ts";
import { shellQuote } from "../core/shell.ts";
import { DAY_MS, MINUTE_MS, SECOND_MS } from "../core/time.ts";
import { isPlaceholder } from "../project/setting-types.ts";
import { setting } from "../project/settings.ts";

export const SSL_DIR = "nginx/ssl";
export const CERT_FILE = "fullchain.pem";
export const KEY_FILE = "privkey.pem";
/** nginx/ssl/pairs/<id>/: every pair installed; nginx/ssl/current: a link to the one served. */
export const PAIRS_DIR = "pairs";
export const CURRENT = "current";
/** Mounted into nginx as /var/www/certbot, where it serves /.well-known/acme-challenge/ from. */
export const WEBROOT_DIR = "nginx/certbot";
export const LETSENCRYPT_LIVE = "/etc/letsencrypt/live";
export const RENEWAL_HOOKS_DIR = "/etc/letsencrypt/renewal-hooks/deploy";
export const DEFAULT_RENEW_CRON = "17 3 * * *";
/** Fewer days left than this: the kept certificate comes with a warning. */
export const EXPIRY_WARN_DAYS = 30;
export const SELF_SIGNED_DAYS = 90;
/** Ends the crontab line claw-ops owns (sh reads it as a comment); how the merge finds it again. */
export const RENEW_MARKER = "# claw-ops: certbot renew";

// ---------------------------------------------------------------------------------------------
// Inspection (pure)

export interface CertInspection {
  subject: string;
  issuer: string;
  /** undefined only when fullchain.pem is not a certificate at all. */
  notAfter: Date | undefined;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  matchesKey: boolean;
  coversDomain: boolean;
  selfSigned: boolean;
  /** Issued by Let's Encrypt (so `certbot renew` can renew it). */
  letsEncrypt: boolean;
  /** Why the pair cannot serve the domain now; empty when it can. */
  problems: string[];
}

const EN = catalogue("en");
type Text = (c: Catalogue) => string;
/** The problems of an inspection, as texts of any language (its `problems` are the English ones). */
const PROBLEMS = new WeakMap<CertInspection, Text[]>();
/** The texts of a plan in the operator's language, when it is not English. */
const SHOWN = new WeakMap<TlsPlan, TlsPlan>();

/** The problems of an inspection in a language (the operator's by default). */
export function problemsIn(i: CertInspection, c: Catalogue = catalogue()): string[] {
  return PROBLEMS.get(i)?.map((p) => p(c)) ?? i.problems;
}

/** A plan with its reason and warnings in the operator's language (the plan itself is English). */
export function shownTlsPlan(plan: TlsPlan): TlsPlan {
  return SHOWN.get(plan) ?? plan;
}

function withProblems(i: Omit<CertInspection, "problems">, problems: Text[]): CertInspection {
  const out = { ...i, problems: problems.map((p) => p(EN)) };
  PROBLEMS.set(out, problems);
  return out;
}

/** What a pair of PEM texts holds, at `now`, for `domain` (any name when undefined). Pure. */
export function inspectCertificate(certPem: string | Buffer, keyPem: string | Buffer, now: Date, domain?: string): CertInspection {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return withProblems(
      {
        subject: "",
        issuer: "",
        notAfter: undefined,
        daysLeft: 0,
        matchesKey: false,
        coversDomain: false,
        selfSigned: false,
        letsEncrypt: false,
      },
      [(c) => c.deploy.tls.notCertificate({ file: CERT_FILE })],
    );
  }
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    key = undefined;
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const matchesKey = key !== undefined && keyMatches(cert, key);
  const coversDomain = domain === undefined || (isIP(domain) ? cert.checkIP(domain) : cert.checkHost(domain)) !== undefined;
  const problems: Text[] = [];
  if (notBefore.getTime() > now.getTime()) problems.push((c) => c.deploy.tls.notYetValid({ at: notBefore.toISOString() }));
  if (notAfter.getTime() <= now.getTime()) problems.push((c) => c.deploy.tls.expired({ at: notAfter.toISOString() }));
  if (key === undefined) problems.push((c) => c.deploy.tls.noKey({ file: KEY_FILE }));
  else if (!matchesKey) problems.push((c) => c.deploy.tls.wrongKey({ key: KEY_FILE, cert: CERT_FILE }));
  const names = cert.subjectAltName ?? cert.subject.replace(/\n/g, ", ");
  if (!coversDomain) problems.push((c) => c.deploy.tls.otherName({ names, domain }));
  return withProblems(
    {
      subject: cert.subject,
      issuer: cert.issuer,
      notAfter,
      daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
      matchesKey,
      coversDomain,
      selfSigned: cert.issuer === cert.subject,
      letsEncrypt: /^O=Let's Encrypt$/m.test(cert.issuer),
    },
    problems,
  );
}

function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // a key of another type
  }
}

// ---------------------------------------------------------------------------------------------
// Names (pure)

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** Reserved for documentation and testing (RFC 2606, RFC 6761) or private use: never on the public internet. */
const RESERVED_SUFFIXES = ["example", "test", "invalid", "localhost", "local", "localdomain", "internal", "lan", "home.arpa"];
const EXAMPLE_DOMAINS = ["example.com", "example.net", "example.org"];
const DOMAIN_SETTING = setting("DOMAIN");

/** DOMAIN, trimmed and lower-cased; PreconditionError (nothing touched) when no certificate can name it. */
export function checkDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.$/, "");
  const hint = msg.deploy.tls.domainHint;
  if (d === "") throw new PreconditionError(msg.deploy.tls.domainEmpty, hint);
  if (isIP(d)) return d;
  if (d.length > 253 || !d.split(".").every((l) => LABEL.test(l))) throw new PreconditionError(msg.deploy.tls.notHostName({ domain }), hint);
  return d;
}

const under = (d: string, suffix: string) => d === suffix || d.endsWith(`.${suffix}`);

/** Why Let's Encrypt must not be asked for `domain` (already checked), or undefined when it may (in language `c`). Pure. */
export function certbotIneligible(domain: string, c: Catalogue = catalogue()): string | undefined {
  const t = c.deploy.tls;
  if (isIP(domain)) return t.ipAddress({ domain });
  if (under(domain, "localhost")) return t.localName({ domain });
  if (isPlaceholder(DOMAIN_SETTING, domain) || /your-?domain/.test(domain)) return t.placeholder({ domain });
  if (EXAMPLE_DOMAINS.some((e) => under(domain, e)) || RESERVED_SUFFIXES.some((s) => under(domain, s))) return t.reservedName({ domain });
  if (!domain.includes(".")) return t.notQualified({ domain });
  return undefined;
}

/** DEPLOY_EMAIL, checked: Let's Encrypt refuses addresses at reserved domains. */
export function checkEmail(email: string): string {
  const e = email.trim();
  const hint = msg.deploy.tls.emailHint;
  const at = e.lastIndexOf("@");
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) throw new UsageError(msg.deploy.tls.notEmail({ email }), hint);
  const host = e.slice(at + 1).toLowerCase();
  if (certbotIneligible(host) !== undefined) throw new UsageError(msg.deploy.tls.noMailDomain({ email, host }), hint);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Plan (pure)

export interface TlsInput {
  /** The project root (nginx/ssl and nginx/certbot are under it). */
  root: string;
  domain: string;
  /** DEPLOY_EMAIL, for Let's Encrypt. */
  email?: string | undefined;
  now: Date;
  /** The pair in nginx/ssl; undefined when neither file exists. */
  existing?: CertInspection | undefined;
  certbotInstalled: boolean;
  domainResolvesHere: boolean;
  nginxRunning: boolean;
  /** Where DOMAIN resolved to, for the warning that says why certbot was not used. */
  resolvedTo?: readonly string[] | undefined;
}

export type TlsPlan =
  | { action: "keep"; domain: string; daysLeft: number; selfSigned: boolean; renew: boolean; warnings: string[] }
  | { action: "certbot"; domain: string; mode: CertbotMode; argv: string[]; lineage: string; warnings: string[] }
  | { action: "self-signed"; domain: string; reason: string; warnings: string[] };

/** The TLS decision, from what probeTls saw (see the module's head for the rules). Pure; throws before anything is touched. */
export function planTls(input: TlsInput): TlsPlan {
  const plan = planIn(input, EN);
  const here = catalogue();
  if (here !== EN) SHOWN.set(plan, planIn(input, here));
  return plan;
}

/** planTls with its texts in language `c` (its errors are in the operator's). */
function planIn(input: TlsInput, c: Catalogue): TlsPlan {
  const domain = checkDomain(input.domain);
  const existing = input.existing;
  const blocker = whyNotCertbot(input, domain, c);
  const email = input.email?.trim() ? input.email : undefined;
  if (existing && existing.problems.length === 0) {
    if (!existing.selfSigned) {
      const renew = existing.letsEncrypt && input.certbotInstalled;
      return { action: "keep", domain, daysLeft: existing.daysLeft, selfSigned: false, renew, warnings: expiryWarnings(existing, renew, c) };
    }
    if (blocker !== undefined || email === undefined) {
      const why = blocker ?? c.deploy.tls.noEmailKeep;
      return {
        action: "keep",
        domain,
        daysLeft: existing.daysLeft,
        selfSigned: true,
        renew: false,
        warnings: [selfSignedWarning(domain, why, c), ...expiryWarnings(existing, false, c)],
      };
    }
  }
  const replaced = existing ? [replacedWarning(existing, c)] : [];
  if (blocker === undefined) {
    if (email === undefined) {
      throw new UsageError(msg.deploy.tls.emailNeeded({ domain }), msg.deploy.tls.emailNeededHint);
    }
    const mode: CertbotMode = input.nginxRunning ? "webroot" : "standalone";
    const who = { domain, email: checkEmail(email) };
    const argv = certbotCertonly(mode === "webroot" ? { ...who, mode, webroot: join(input.root, WEBROOT_DIR) } : { ...who, mode });
    return { action: "certbot", domain, mode, argv, lineage: `${LETSENCRYPT_LIVE}/${domain}`, warnings: replaced };
  }
  return { action: "self-signed", domain, reason: blocker, warnings: [selfSignedWarning(domain, blocker, c), ...replaced] };
}

/** Whether the certificate the plan leaves in place is one `certbot renew` renews. */
export const wantsRenewal = (plan: TlsPlan): boolean => plan.action === "certbot" || (plan.action === "keep" && plan.renew);

/**
 * One line per decision, for the deploy's plan (and --dry-run), in language `c` with the plan's
 * reason as it is (give shownTlsPlan(plan) for the screen).
 */
export function describeTlsPlan(plan: TlsPlan, c: Catalogue = catalogue()): string {
  const t = c.deploy.tls;
  switch (plan.action) {
    case "keep":
      return t.planKeep({ selfSigned: plan.selfSigned, dir: SSL_DIR, domain: plan.domain, days: plan.daysLeft });
    case "certbot":
      return t.planCertbot({ mode: plan.mode, domain: plan.domain, lineage: plan.lineage, dir: SSL_DIR });
    case "self-signed":
      return t.planSelfSigned({ domain: plan.domain, days: SELF_SIGNED_DAYS, dir: SSL_DIR, reason: plan.reason });
  }
}

function whyNotCertbot(input: TlsInput, domain: string, c: Catalogue): string | undefined {
  const t = c.deploy.tls;
  const ineligible = certbotIneligible(domain, c);
  if (ineligible !== undefined) return t.ineligible({ why: ineligible, dir: SSL_DIR });
  if (!input.certbotInstalled) return t.noCertbot;
  if (!input.domainResolvesHere) {
    return input.resolvedTo?.length
      ? t.resolvesElsewhere({ domain, addresses: input.resolvedTo.join(", "), dir: SSL_DIR })
      : t.doesNotResolve({ domain, dir: SSL_DIR });
  }
  return undefined;
}

function selfSignedWarning(domain: string, why: string, c: Catalogue): string {
  return c.deploy.tls.selfSignedWarning({ domain, dir: SSL_DIR, why });
}

function expiryWarnings(i: CertInspection, renew: boolean, c: Catalogue): string[] {
  if (i.daysLeft >= EXPIRY_WARN_DAYS) return [];
  const t = c.deploy.tls;
  return [t.expiresSoon({ dir: SSL_DIR, days: i.daysLeft, at: i.notAfter?.toISOString(), next: renew ? t.renewNext : t.replaceNext })];
}

function replacedWarning(i: CertInspection, c: Catalogue): string {
  return i.problems.length
    ? c.deploy.tls.replacingPair({ dir: SSL_DIR, problems: problemsIn(i, c) })
    : c.deploy.tls.replacingSelfSigned({ dir: SSL_DIR });
}

// ---------------------------------------------------------------------------------------------
// Probe (reads only)

export interface TlsProbe {
  existing: CertInspection | undefined;
  certbotInstalled: boolean;
  domainResolvesHere: boolean;
  resolvedTo: string[];
}

/**
 * What planTls needs from this host, touching nothing. `extraAddresses` count as this host's
 * own (a public IP behind NAT that no interface carries).
 */
export async function probeTls(
  root: string,
  domain: string,
  o: { now?: Date; extraAddresses?: readonly string[]; lookupTimeoutMs?: number } = {},
): Promise<TlsProbe> {
  const d = checkDomain(domain);
  const [certbotInstalled, resolvedTo] = await Promise.all([canRun({ argv: certbotVersion() }), resolve(d, o.lookupTimeoutMs ?? 5 * SECOND_MS)]);
  return {
    existing: readPair(root, o.now ?? new Date(), d),
    certbotInstalled,
    domainResolvesHere: resolvesHere(resolvedTo, [...localAddresses(), ...(o.extraAddresses ?? [])]),
    resolvedTo,
  };
}

/**
 * `deploy.mts --check-dns`: where DOMAIN resolves (through the system resolver, nothing else)
 * and whether that is only this host.
 */
export async function domainResolution(domain: string, timeoutMs = 5 * SECOND_MS): Promise<{ resolved: string[]; here: boolean }> {
  const resolved = await resolve(checkDomain(domain), timeoutMs);
  return { resolved, here: resolvesHere(resolved, localAddresses()) };
}

/** Every address DOMAIN resolves to is this host's (loopback counts); false when it resolves to nothing. Pure. */
export function resolvesHere(resolved: readonly string[], local: readonly string[]): boolean {
  const mine = new Set(local.map(normalizeAddress));
  return resolved.length > 0 && resolved.map(normalizeAddress).every((a) => mine.has(a) || a === "::1" || /^127\./.test(a));
}

const normalizeAddress = (a: string) =>
  a
    .toLowerCase()
    .replace(/%.*$/, "")
    .replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

async function resolve(domain: string, timeoutMs: number): Promise<string[]> {
  if (isIP(domain)) return [domain];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((r) => {
    timer = setTimeout(() => r([]), timeoutMs);
  });
  try {
    const found = lookup(domain, { all: true }).then(
      (as) => as.map((a) => a.address),
      () => [],
    );
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The pair in nginx/ssl, inspected; undefined when neither file exists. */
function readPair(root: string, now: Date, domain: string): CertInspection | undefined {
  const cert = join(root, SSL_DIR, CERT_FILE);
  const key = join(root, SSL_DIR, KEY_FILE);
  if (!existsSync(cert) && !existsSync(key)) return undefined;
  const read = (p: string) => (existsSync(p) ? readFileSync(p) : "");
  return inspectCertificate(read(cert), read(key), now, domain);
}

// ---------------------------------------------------------------------------------------------
// Apply (writes nginx/ssl, and /etc/letsencrypt through certbot)

export interface TlsApplyOptions {
  out?: { info(m: string): void };
  /** The clock the pair already in nginx/ssl is judged by (a self-signed plan never overwrites a valid one). */
  now?: Date;
}

/** `changed`: nginx/ssl holds a new pair (a running nginx needs a reload to serve it). */
export interface TlsOutcome {
  action: TlsPlan["action"];
  changed: boolean;
}

export async function applyTls(root: string, plan: TlsPlan, o: TlsApplyOptions = {}): Promise<TlsOutcome> {
  switch (plan.action) {
    case "keep":
      return { action: "keep", changed: false };
    case "self-signed":
      return { action: "self-signed", changed: await writeSelfSigned(root, plan.domain, o) };
    case "certbot":
      await obtainWithCertbot(root, plan, o);
      return { action: "certbot", changed: true };
  }
}

async function writeSelfSigned(root: string, domain: string, o: TlsApplyOptions): Promise<boolean> {
  const now = o.now ?? new Date();
  const current = readPair(root, now, domain);
  if (current && current.problems.length === 0) {
    o.out?.info(msg.deploy.tls.keptValid({ dir: SSL_DIR, domain }));
    return false;
  }
  await withScratch(root, async (scratch) => {
    const keyOut = join(scratch, KEY_FILE);
    const certOut = join(scratch, CERT_FILE);
    const argv = opensslSelfSigned({ domain, isIp: isIP(domain) !== 0, keyOut, certOut, days: SELF_SIGNED_DAYS });
    await run({ argv }, { timeoutMs: 2 * MINUTE_MS, hint: msg.deploy.tls.opensslHint });
    installPair(root, scratch, domain);
  });
  o.out?.info(msg.deploy.tls.wroteSelfSigned({ domain, days: SELF_SIGNED_DAYS, dir: SSL_DIR }));
  return true;
}

async function obtainWithCertbot(root: string, plan: Extract<TlsPlan, { action: "certbot" }>, o: TlsApplyOptions): Promise<void> {
  if (plan.mode === "webroot") mkdirSync(join(root, WEBROOT_DIR), { recursive: true, mode: 0o755 });
  const hint =
    plan.mode === "webroot" ? msg.deploy.tls.certbotWebrootHint({ domain: plan.domain, webroot: WEBROOT_DIR }) : msg.deploy.tls.certbotStandaloneHint;
  await run({ argv: plan.argv }, { timeoutMs: 10 * MINUTE_MS, hint });
  await withScratch(root, async (scratch) => {
    copyFileSync(join(plan.lineage, CERT_FILE), join(scratch, CERT_FILE));
    copyFileSync(join(plan.lineage, KEY_FILE), join(scratch, KEY_FILE));
    installPair(root, scratch, plan.domain);
  });
  o.out?.info(msg.deploy.tls.installedLetsEncrypt({ domain: plan.domain, dir: SSL_DIR }));
}

/** A 0700 scratch dir inside nginx/ssl (same filesystem, so the rename into place is atomic), removed afterwards. */
async function withScratch(root: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const ssl = join(root, SSL_DIR);
  mkdirSync(ssl, { recursive: true, mode: 0o700 });
  const scratch = mkdtempSync(join(ssl, ".claw-tls-"));
  try {
    await fn(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Checks the pair in `scratch` (at the present time: a pair made a moment ago is valid from
 * this second on), sets its modes and makes it the one nginx serves in one step: the scratch
 * directory becomes pairs/<id>, then the `current` link is flipped to it by a rename.
 */
function installPair(root: string, scratch: string, domain: string): void {
  const key = join(scratch, KEY_FILE);
  const cert = join(scratch, CERT_FILE);
  chmodSync(key, 0o600);
  chmodSync(cert, 0o644);
  const check = inspectCertificate(readFileSync(cert), readFileSync(key), new Date(), domain);
  if (check.problems.length) {
    throw new ClawError(msg.deploy.tls.cannotServe({ domain, problems: problemsIn(check) }), {
      hint: msg.deploy.tls.nothingReplacedHint({ dir: SSL_DIR }),
    });
  }
  const ssl = join(root, SSL_DIR);
  ensurePairLinks(root);
  // Newest last by name; the scratch directory's random suffix keeps two pairs of one second apart.
  const id = `${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}-${basename(scratch).replace(/^\.claw-tls-/, "")}`;
  mkdirSync(join(ssl, PAIRS_DIR), { recursive: true, mode: 0o700 });
  renameSync(scratch, join(ssl, PAIRS_DIR, id));
  chmodSync(join(ssl, PAIRS_DIR, id), 0o755);
  relink(ssl, CURRENT, `${PAIRS_DIR}/${id}`);
  for (const f of [KEY_FILE, CERT_FILE]) if (!lstatSync(join(ssl, f), { throwIfNoEntry: false })?.isSymbolicLink()) relink(ssl, f, `${CURRENT}/${f}`);
  prunePairs(ssl, id);
}

/**
 * nginx/ssl's layout: fullchain.pem and privkey.pem are links through `current`, a link to one
 * directory of pairs/, so a new pair is served by one rename (a kill between renaming a key
 * and its certificate left nginx a mismatched pair, and its next reload failed). A pair of two
 * plain files (an older layout, or one put there by hand) becomes such a directory first, and
 * each name a link to the same content: nginx sees the same pair at every step.
 */
export function ensurePairLinks(root: string): void {
  const ssl = join(root, SSL_DIR);
  const isLink = (n: string) => lstatSync(join(ssl, n), { throwIfNoEntry: false })?.isSymbolicLink() === true;
  if (isLink(CURRENT) && isLink(CERT_FILE) && isLink(KEY_FILE)) return;
  if (!isLink(CURRENT)) {
    const plain = (n: string) => lstatSync(join(ssl, n), { throwIfNoEntry: false })?.isFile() === true;
    if (!plain(CERT_FILE) || !plain(KEY_FILE)) return;
    const id = "previous";
    const dir = join(ssl, PAIRS_DIR, id);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(join(ssl, PAIRS_DIR), 0o700);
    copyFileSync(join(ssl, KEY_FILE), join(dir, KEY_FILE));
    chmodSync(join(dir, KEY_FILE), 0o600);
    copyFileSync(join(ssl, CERT_FILE), join(dir, CERT_FILE));
    chmodSync(join(dir, CERT_FILE), 0o644);
    relink(ssl, CURRENT, `${PAIRS_DIR}/${id}`);
  }
  for (const f of [KEY_FILE, CERT_FILE]) if (!isLink(f)) relink(ssl, f, `${CURRENT}/${f}`);
}

/** `dir/name` becomes a link to `target` by one rename (a reader sees the old or the new, never none). */
function relink(dir: string, name: string, target: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, join(dir, name));
}

/** Pairs other than the one served and the newest one before it are removed. */
function prunePairs(ssl: string, current: string): void {
  const dir = join(ssl, PAIRS_DIR);
  const others = readdirSync(dir)
    .filter((n) => n !== current && !n.startsWith("."))
    .sort()
    .reverse();
  for (const n of others.slice(1)) rmSync(join(dir, n), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Renewal

export interface RenewalTarget {
  root: string;
  domain: string;
  /** The compose command of this project (binary and global flags), e.g. baseArgs(project). */
  composeArgv: readonly string[];
  /** nginx's compose service (found by its ai.claw.role label). */
  nginxService: string;
}

/** The hook's file name: one per project root, so two projects on one host keep their own. */
export function renewalHookName(root: string): string {
  return `claw-ai-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.sh`;
}

/**
 * The certbot deploy hook for this project. Certbot runs every hook in renewal-hooks/deploy
 * after each renewal, with RENEWED_LINEAGE naming the certificate: this one acts only for its
 * own domain, copies the pair into nginx/ssl (scratch dir, then rename) and reloads nginx. Pure.
 */
export function renewalHookScript(t: RenewalTarget, o: { pathValue?: string; liveDir?: string } = {}): string {
  const q = (s: string) => shellQuote(s);
  const domain = checkDomain(t.domain);
  for (const s of [t.root, ...t.composeArgv]) {
    if (/[\r\n\0]/.test(s)) throw new UsageError(msg.deploy.tls.lineBreakInHook({ value: JSON.stringify(s) }));
  }
  return [
    "#!/bin/sh",
    `# Installed by claw-ops (deploy.mts) for ${t.root.replace(/[\r\n]/g, " ")}: when certbot renews`,
    `# ${domain}, copy the new certificate into nginx/ssl and reload nginx. Rewritten by every deploy.`,
    "set -eu",
    `PATH=${q(o.pathValue ?? pinnedPath([]))}`,
    "export PATH",
    `lineage=${q(`${o.liveDir ?? LETSENCRYPT_LIVE}/${domain}`)}`,
    `ssl=${q(join(t.root, SSL_DIR))}`,
    '[ "${RENEWED_LINEAGE:-}" = "$lineage" ] || exit 0',
    '[ -d "$ssl" ] || exit 0',
    // The layout of ensurePairLinks (deploy made it before installing this hook): the new pair
    // becomes a directory of pairs/, then `current` is flipped to it by one rename.
    `[ -L "$ssl/${CURRENT}" ] || { echo "claw-ops: $ssl is not in the layout deploy.mts makes; run deploy.mts once" >&2; exit 1; }`,
    "umask 077",
    `mkdir -p "$ssl/${PAIRS_DIR}"`,
    `tmp=$(mktemp -d "$ssl/${PAIRS_DIR}/.claw-renew-XXXXXX")`,
    'trap \'rm -rf "$tmp" "$ssl/.current.new"\' EXIT',
    `cp "$lineage/${CERT_FILE}" "$tmp/${CERT_FILE}"`,
    `cp "$lineage/${KEY_FILE}" "$tmp/${KEY_FILE}"`,
    `chmod 644 "$tmp/${CERT_FILE}"`,
    `chmod 600 "$tmp/${KEY_FILE}"`,
    `chmod 755 "$tmp"`,
    'id="renew-$(date -u +%Y%m%d%H%M%S)-$$"',
    `mv "$tmp" "$ssl/${PAIRS_DIR}/$id"`,
    `ln -s "${PAIRS_DIR}/$id" "$ssl/.current.new"`,
    `mv -T "$ssl/.current.new" "$ssl/${CURRENT}"`,
    `cd ${q(t.root)}`,
    composeNginxReload(t.composeArgv, t.nginxService).map(q).join(" "),
    "",
  ].join("\n");
}

/** The crontab line that renews every due certificate (certbot runs the hooks). Validated like the backup's. Pure. */
export function renewalCronLine(expr = DEFAULT_RENEW_CRON, certbot = "certbot"): string {
  validateCron(expr);
  const command = certbotRenew(certbot)
    .map((s) => shellQuote(s))
    .map((w) => w.replace(/%/g, "\\%"))
    .join(" ");
  return `${expr.trim().split(/\s+/).join(" ")} ${command} ${RENEW_MARKER}`;
}

/** The crontab with our renewal line in it once, every other line untouched. Pure. */
export function mergeRenewalCron(existing: string, line: string): { text: string; changed: boolean } {
  return replaceCrontabLines(existing, line, (l) => !/^\s*#/.test(l) && l.trimEnd().endsWith(RENEW_MARKER));
}

export interface RenewalOptions {
  hooksDir?: string;
  cronExpr?: string;
  /** certbot as the cron line names it; default: its absolute path when on PATH (cron's PATH is /usr/bin:/bin). */
  certbot?: string;
  /** PATH inside the hook; default: docker's directory and the system ones. */
  pathValue?: string;
  out?: { info(m: string): void };
}

/**
 * Installs the deploy hook (0755, rewritten only when its text changed) and the renewal cron
 * line (merged: installing twice leaves one line). Only for certificates certbot renews
 * (wantsRenewal).
 */
export async function installRenewal(
  t: RenewalTarget,
  o: RenewalOptions = {},
): Promise<{ hook: string; hookChanged: boolean; cronChanged: boolean }> {
  const certbotDir = dirOnPath("certbot");
  const line = renewalCronLine(o.cronExpr ?? DEFAULT_RENEW_CRON, o.certbot ?? (certbotDir ? join(certbotDir, "certbot") : "certbot"));
  const dockerDir = t.composeArgv[0] ? dirOnPath(t.composeArgv[0]) : undefined;
  const script = renewalHookScript(t, { pathValue: o.pathValue ?? pinnedPath([dockerDir, "/snap/bin"]) });
  const dir = o.hooksDir ?? RENEWAL_HOOKS_DIR;
  const hook = join(dir, renewalHookName(t.root));
  // The hook flips `current`: the layout is made before it can run.
  ensurePairLinks(t.root);
  const hookChanged = !existsSync(hook) || readFileSync(hook, "utf8") !== script;
  if (hookChanged) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = `${hook}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, script, { mode: 0o755 });
      chmodSync(tmp, 0o755);
      renameSync(tmp, hook);
    } finally {
      rmSync(tmp, { force: true });
    }
    o.out?.info(msg.deploy.tls.installedHook({ hook }));
  }
  const merged = mergeRenewalCron(await readCrontab(), line);
  if (merged.changed) {
    await writeCrontab(merged.text);
    o.out?.info(msg.deploy.tls.crontab({ line }));
  }
  return { hook, hookChanged, cronChanged: merged.changed };
}
