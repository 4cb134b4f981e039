/**
 * DOMAIN and DEPLOY_EMAIL as a certificate needs them: checked, and whether Let's Encrypt may be
 * asked for a name at all.
 */
import { isIP } from "node:net";
import { PreconditionError, UsageError } from "../core/errors.ts";
import { type Catalogue, catalogue, msg } from "../core/i18n/index.ts";
import { isPlaceholder } from "../project/setting-types.ts";
import { setting } from "../project/settings.ts";

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
