/**
 * The release a configuration restore switches to: the CLAW_AI_TAG of the backup's .env.prod
 * (read from its config archive, nothing unpacked to disk) against the live one. Only a
 * plaintext backup is read: an encrypted one is not decrypted for this, and then the plan
 * says nothing extra.
 */
import { join } from "node:path";
import { parse as dotenvParse } from "dotenv";
import * as tar from "tar";
import { FILE_TYPES } from "../backup/components/archive-rules.ts";
import type { ComponentName, Manifest } from "../backup/manifest.ts";
import { setting } from "../project/settings.ts";

const ENV_FILE = ".env.prod";
const CONFIG_ARCHIVE = "config.tar";
const TAG_KEY = "CLAW_AI_TAG";
/** A .env.prod is a few KiB: anything far bigger is not read. */
const MAX_ENV_BYTES = 1024 * 1024;

export interface ReleaseSwitch {
  /** CLAW_AI_TAG of the live .env.prod. */
  from: string;
  /** CLAW_AI_TAG of the backup's .env.prod, which the restore writes back. */
  to: string;
}

/**
 * Pure: the switch of release a restore of these components makes, given both tags. Only a
 * restore that includes config writes the backup's .env.prod; an unknown tag (unset, not
 * read) or the same tag is no switch.
 */
export function releaseSwitchOf(
  components: readonly ComponentName[],
  liveTag: string | undefined,
  backupTag: string | undefined,
): ReleaseSwitch | undefined {
  if (!components.includes("config") || !liveTag || !backupTag || liveTag === backupTag) return undefined;
  return { from: liveTag, to: backupTag };
}

/** Pure: a CLAW_AI_TAG value as today's checks accept it (and as is safe to print), else undefined. */
export function acceptedTag(value: string | undefined): string | undefined {
  const pattern = setting(TAG_KEY).format;
  return value !== undefined && (!pattern || pattern.test(value)) ? value : undefined;
}

/** Pure: CLAW_AI_TAG of an .env.prod's text. */
export const tagOfEnvText = (text: string): string | undefined => acceptedTag(dotenvParse(text)[TAG_KEY]);

/**
 * CLAW_AI_TAG of the .env.prod a backup's config component holds; undefined when the backup
 * is encrypted (never decrypted for this), has no config or no such file, or the archive
 * cannot be read (the restore's own checks refuse such an archive later, with the reason).
 */
export function backupTag(dir: string, m: Manifest): string | undefined {
  if (m.encryption) return undefined;
  const archive = m.components.config?.artifacts.find((a) => a.file === CONFIG_ARCHIVE);
  if (!archive) return undefined;
  const chunks: Buffer[] = [];
  let found = false;
  try {
    tar.t({
      file: join(dir, archive.file),
      sync: true,
      strict: true,
      onReadEntry: (e) => {
        const rel = e.path.replace(/^(\.\/+)+/, "");
        if (found || rel !== ENV_FILE || !FILE_TYPES.includes(e.type) || (e.size ?? 0) > MAX_ENV_BYTES) return;
        found = true;
        e.on("data", (c: Buffer) => void chunks.push(c));
      },
    });
  } catch {
    return undefined;
  }
  return found ? tagOfEnvText(Buffer.concat(chunks).toString("utf8")) : undefined;
}
