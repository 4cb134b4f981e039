/**
 * A certificate pair (fullchain.pem and privkey.pem) and what it holds at a time, for a
 * domain. Pure. Its problems are English (data, --json); problemsIn gives them in the
 * operator's language.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { type Catalogue, catalogue } from "../core/i18n/index.ts";
import { DAY_MS } from "../core/time.ts";

export const CERT_FILE = "fullchain.pem";
export const KEY_FILE = "privkey.pem";

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

/** The problems of an inspection in a language (the operator's by default). */
export function problemsIn(i: CertInspection, c: Catalogue = catalogue()): string[] {
  return PROBLEMS.get(i)?.map((p) => p(c)) ?? i.problems;
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
