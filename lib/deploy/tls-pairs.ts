/**
 * nginx/ssl, where the pair nginx serves is: read, and a new pair installed in one step
 * (a directory of pairs/, then the `current` link flipped to it by a rename).
 */
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
} from "node:fs";
import { basename, join } from "node:path";
import { ClawError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { CERT_FILE, type CertInspection, inspectCertificate, KEY_FILE, problemsIn } from "./tls-certificate.ts";

export const SSL_DIR = "nginx/ssl";

/** nginx/ssl/pairs/<id>/: every pair installed; nginx/ssl/current: a link to the one served. */
export const PAIRS_DIR = "pairs";
export const CURRENT = "current";

/** The pair in nginx/ssl, inspected; undefined when neither file exists. */
export function readPair(root: string, now: Date, domain: string): CertInspection | undefined {
  const cert = join(root, SSL_DIR, CERT_FILE);
  const key = join(root, SSL_DIR, KEY_FILE);
  if (!existsSync(cert) && !existsSync(key)) return undefined;
  const read = (p: string) => (existsSync(p) ? readFileSync(p) : "");
  return inspectCertificate(read(cert), read(key), now, domain);
}

/** A 0700 scratch dir inside nginx/ssl (same filesystem, so the rename into place is atomic), removed afterwards. */
export async function withScratch(root: string, fn: (dir: string) => Promise<void>): Promise<void> {
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
export function installPair(root: string, scratch: string, domain: string): void {
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
