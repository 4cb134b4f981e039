/**
 * What the TLS decision needs from this host, touching nothing: the pair in nginx/ssl, whether
 * certbot is installed, and where DOMAIN resolves (checked against this host's own interfaces,
 * no outside service).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { certbotVersion } from "../commands/tls.ts";
import { canRun } from "../core/exec.ts";
import { SECOND_MS } from "../core/time.ts";
import type { CertInspection } from "./tls-certificate.ts";
import { checkDomain } from "./tls-names.ts";
import { readPair } from "./tls-pairs.ts";

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
