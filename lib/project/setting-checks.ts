/**
 * The checks of the settings whose values are more than their kind: names and URLs that go
 * into a request or an argv, keys, component lists. Each refuses naming the key, never
 * echoing a secret.
 */
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { Secret } from "../core/secret.ts";
import { keyProblem } from "./setting-types.ts";

const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const AGE_KEY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** Recipients from BACKUP_AGE_RECIPIENTS (comma or space separated). */
export function parseRecipients(text: string | undefined): string[] {
  const list = (text ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = list.find((r) => !RECIPIENT.test(r));
  if (wrong) {
    throw new PreconditionError(
      msg.project.config.notRecipient({ start: JSON.stringify(`${wrong.slice(0, 12)}…`) }),
      msg.project.config.notRecipientHint,
    );
  }
  return list;
}

/** Refuses anything but an age secret key (AGE-SECRET-KEY-1…). */
export function checkAgeKey(text: string): void {
  if (!AGE_KEY.test(text.trim())) throw new PreconditionError(msg.project.config.notAgeKey, msg.project.config.notAgeKeyHint);
}

/** BACKUP_ENCRYPTION_KEY: an age secret key, as a Secret. */
export function ageKey(text: string): Secret {
  const key = text.trim();
  checkAgeKey(key);
  return new Secret(key);
}

export const BACKUP_COMPONENTS = ["postgres", "redis", "milvus", "uploads", "config"] as const;
export type BackupComponentName = (typeof BACKUP_COMPONENTS)[number];

/** DEPLOY_BACKUP_COMPONENTS: some of the backup's components, comma-separated. */
export function backupComponents(v: string): BackupComponentName[] {
  const names = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.find((n) => !(BACKUP_COMPONENTS as readonly string[]).includes(n));
  if (unknown || !names.length)
    throw keyProblem(
      "DEPLOY_BACKUP_COMPONENTS",
      unknown ? msg.project.config.problems.unknownComponent({ name: JSON.stringify(unknown) }) : msg.project.config.problems.namesNothing,
      msg.project.config.componentsHint({ names: BACKUP_COMPONENTS.join(",") }),
    );
  return names as BackupComponentName[];
}

/**
 * S3's bucket naming rules (3-63 lower-case letters, digits, dots and hyphens): a bucket name
 * goes into the request's host name (virtual-hosted style) or path, so `#`, `@` or `/` would
 * send the request elsewhere.
 */
export function checkBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new PreconditionError(msg.project.config.bucket);
  }
  return bucket;
}

/** Key prefix segments of letters, digits, `.`, `_`, `-`; never `.` or `..` (no other path, no other host). */
export function checkPrefix(prefix: string): string {
  const segments = prefix.split("/");
  if (prefix === "" || segments.some((s) => s === "" || s === "." || s === ".." || !/^[A-Za-z0-9._-]+$/.test(s))) {
    throw new PreconditionError(msg.project.config.prefix);
  }
  return prefix;
}

/** OFFSITE_S3_PREFIX (or the host name), without leading and trailing slashes, checked. */
export const offsitePrefix = (prefix: string): string => checkPrefix(prefix.replace(/^\/+|\/+$/g, ""));

/** An http(s) origin: no user info, path, query or fragment that would change where requests go. */
export function checkEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new PreconditionError(msg.project.config.endpointNotUrl);
  }
  if (
    !/^https?:$/.test(u.protocol) ||
    u.username ||
    u.password ||
    (u.pathname !== "/" && u.pathname !== "") ||
    u.search ||
    u.hash ||
    endpoint.includes("@")
  ) {
    throw new PreconditionError(msg.project.config.endpointOrigin);
  }
  return endpoint;
}
