/**
 * TLS certificates as argv: certbot (issue, renew, detect), openssl (a self-signed pair) and
 * the nginx reload inside its compose service. Pure: no I/O, no quoting; lib/deploy/tls.ts
 * runs them and writes the renewal hook that embeds the reload.
 */
import { nginxReload } from "./nginx.ts";

export const certbotVersion = () => ["certbot", "--version"];

export type CertbotMode = "webroot" | "standalone";

/**
 * webroot: nginx keeps serving and answers the challenge from `webroot`, the directory it
 * serves /.well-known/acme-challenge/ from; standalone: certbot binds port 80 itself.
 */
export type CertbotCertonly = { domain: string; email: string } & ({ mode: "webroot"; webroot: string } | { mode: "standalone" });

/**
 * `certbot certonly` for one name, without a prompt. `--cert-name` pins the lineage to
 * /etc/letsencrypt/live/<domain> (never a `-0001` sibling); `--keep-until-expiring` reuses a
 * certificate that is not yet due, so running it again is harmless.
 */
export function certbotCertonly(o: CertbotCertonly): string[] {
  const how = o.mode === "webroot" ? ["--webroot", "-w", o.webroot] : ["--standalone"];
  return [
    "certbot",
    "certonly",
    ...how,
    "--non-interactive",
    "--agree-tos",
    "--no-eff-email",
    "-m",
    o.email,
    "--cert-name",
    o.domain,
    "-d",
    o.domain,
    "--keep-until-expiring",
  ];
}

/** Renews every certificate certbot manages that is due; the deploy hooks run after each renewal. */
export const certbotRenew = (certbot = "certbot") => [certbot, "renew", "--quiet"];

/** The subjectAltName of a self-signed certificate: localhost also answers on 127.0.0.1, an IP literal is an IP entry. */
export function subjectAltName(domain: string, isIp: boolean): string {
  if (isIp) return `subjectAltName=IP:${domain}`;
  return domain === "localhost" ? "subjectAltName=DNS:localhost,IP:127.0.0.1" : `subjectAltName=DNS:${domain}`;
}

export interface SelfSignedOptions {
  domain: string;
  /** Whether `domain` is an IP literal (the caller knows; this module does no parsing of addresses). */
  isIp: boolean;
  keyOut: string;
  certOut: string;
  days?: number;
}

/** A fresh RSA key and a self-signed certificate for one name, unencrypted (nginx reads it unattended). */
export function opensslSelfSigned(o: SelfSignedOptions): string[] {
  return [
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    String(o.days ?? 90),
    "-subj",
    `/CN=${o.domain}`,
    "-addext",
    subjectAltName(o.domain, o.isIp),
    "-keyout",
    o.keyOut,
    "-out",
    o.certOut,
  ];
}

/** `<compose> exec -T <service> nginx -s reload`: nginx rereads its certificates without dropping connections. */
export function composeNginxReload(composeArgv: readonly string[], service: string): string[] {
  return [...composeArgv, "exec", "-T", service, ...nginxReload()];
}
