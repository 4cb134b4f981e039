/**
 * Renewal of a certificate certbot renews: a deploy hook that copies the renewed pair into
 * nginx/ssl and reloads nginx, and one `certbot renew` crontab line (both idempotent).
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certbotRenew, composeNginxReload } from "../commands/tls.ts";
import { UsageError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { shellQuote } from "../core/shell.ts";
import { crontabSafe, dirOnPath, pinnedPath, readCrontab, replaceCrontabLines, validateCron, writeCrontab } from "../infra/crontab.ts";
import { LETSENCRYPT_LIVE } from "./tls.ts";
import { CERT_FILE, KEY_FILE } from "./tls-certificate.ts";
import { checkDomain } from "./tls-names.ts";
import { CURRENT, ensurePairLinks, PAIRS_DIR, SSL_DIR } from "./tls-pairs.ts";

export const RENEWAL_HOOKS_DIR = "/etc/letsencrypt/renewal-hooks/deploy";
export const DEFAULT_RENEW_CRON = "17 3 * * *";

/** Ends the crontab line claw-ops owns (sh reads it as a comment); how the merge finds it again. */
export const RENEW_MARKER = "# claw-ops: certbot renew";

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
    .map((s) => crontabSafe(shellQuote(s)))
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
