/**
 * Deploy step 4, TLS (skipped with --skip-ssl): nginx serves nginx/ssl/{fullchain,privkey}.pem.
 *
 *   probeTls   (reads)  the pair in nginx/ssl, whether certbot is installed, whether DOMAIN
 *                       resolves to this host (its own interfaces only, no outside service);
 *                       tls-probe.ts
 *   planTls    (pure)   keep | certbot (webroot when nginx runs, else standalone) | self-signed
 *   applyTls   (writes) the chosen pair, through a scratch dir in nginx/ssl and a rename
 *                       (tls-pairs.ts)
 *   installRenewal      a certbot deploy hook that copies renewed certificates in and reloads
 *                       nginx, and one `certbot renew` crontab line (idempotent); tls-renewal.ts
 *
 * What a pair holds is read by tls-certificate.ts; the rules for DOMAIN and DEPLOY_EMAIL are in
 * tls-names.ts. This file makes the decision and applies it.
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
import { copyFileSync, mkdirSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { type CertbotMode, certbotCertonly, opensslSelfSigned } from "../commands/tls.ts";
import { UsageError } from "../core/errors.ts";
import { run } from "../core/exec.ts";
import { type Catalogue, catalogue, msg } from "../core/i18n/index.ts";
import { MINUTE_MS } from "../core/time.ts";
import { CERT_FILE, type CertInspection, KEY_FILE, problemsIn } from "./tls-certificate.ts";
import { certbotIneligible, checkDomain, checkEmail } from "./tls-names.ts";
import { installPair, readPair, SSL_DIR, withScratch } from "./tls-pairs.ts";

/** Mounted into nginx as /var/www/certbot, where it serves /.well-known/acme-challenge/ from. */
export const WEBROOT_DIR = "nginx/certbot";
export const LETSENCRYPT_LIVE = "/etc/letsencrypt/live";
/** Fewer days left than this: the kept certificate comes with a warning. */
export const EXPIRY_WARN_DAYS = 30;
export const SELF_SIGNED_DAYS = 90;

const EN = catalogue("en");
/** The texts of a plan in the operator's language, when it is not English. */
const SHOWN = new WeakMap<TlsPlan, TlsPlan>();

/** A plan with its reason and warnings in the operator's language (the plan itself is English). */
export function shownTlsPlan(plan: TlsPlan): TlsPlan {
  return SHOWN.get(plan) ?? plan;
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
