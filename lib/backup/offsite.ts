/**
 * Optional offsite copy of each new backup to S3-compatible storage (AWS S3, MinIO, Tencent
 * COS, Aliyun OSS), configured in .env.prod (OFFSITE_S3_*). Each file is streamed with its
 * Content-MD5 (the server rejects damaged bytes), retried with p-retry on network errors and
 * 5xx, then checked with HEAD (size and ETag). manifest.json goes last, so a remote backup
 * without a manifest is known to be incomplete.
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import pRetry, { AbortError } from "p-retry";
import type { ClawEnv } from "../env.ts";
import { ClawError, PreconditionError } from "../errors.ts";
import { head, putFile, S3Error, type S3Config } from "../s3.ts";
import { Secret } from "../secret.ts";
import { MANIFEST } from "./manifest.ts";

export interface OffsiteConfig extends S3Config {
  prefix: string;
}

/** Pure: the offsite config, undefined when OFFSITE_S3_BUCKET is unset. */
export function offsiteConfig(env: Pick<ClawEnv, "get">): OffsiteConfig | undefined {
  const bucket = env.get("OFFSITE_S3_BUCKET");
  if (!bucket) return undefined;
  const need = (k: string) => {
    const v = env.get(k);
    if (!v) throw new PreconditionError(`.env.prod: ${k} is needed when OFFSITE_S3_BUCKET is set`);
    return v;
  };
  const style = env.get("OFFSITE_S3_PATH_STYLE") ?? "true";
  if (!["true", "false"].includes(style)) throw new PreconditionError(".env.prod: OFFSITE_S3_PATH_STYLE must be true or false");
  return {
    endpoint: need("OFFSITE_S3_ENDPOINT"),
    region: env.get("OFFSITE_S3_REGION") || "us-east-1",
    bucket,
    accessKey: need("OFFSITE_S3_ACCESS_KEY"),
    secretKey: new Secret(need("OFFSITE_S3_SECRET_KEY")),
    pathStyle: style === "true",
    prefix: (env.get("OFFSITE_S3_PREFIX") || hostname()).replace(/^\/+|\/+$/g, ""),
  };
}

async function md5File(file: string): Promise<Buffer> {
  const h = createHash("md5");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

/** Upload one backup directory; returns the remote key prefix. */
export async function copyOffsite(c: OffsiteConfig, dir: string, tier: string, id: string, warn: (m: string) => void): Promise<string> {
  const base = `${c.prefix}/${tier}/${id}`;
  const files = readdirSync(dir).filter((f) => f !== MANIFEST).sort();
  for (const f of [...files, MANIFEST]) {
    const file = join(dir, f);
    const md5 = await md5File(file);
    const key = `${base}/${f}`;
    await pRetry(async () => {
      try {
        await putFile(c, key, file, md5);
      } catch (e) {
        // Wrong credentials, missing bucket, bad digest: retrying will not help.
        if (e instanceof S3Error && e.status >= 400 && e.status < 500) throw new AbortError(e.message);
        throw e;
      }
      const h = await head(c, key);
      if (!h || h.size !== statSync(file).size || h.etag !== md5.toString("hex")) {
        throw new Error(`${key}: size or checksum differs after upload`);
      }
    }, { retries: 4, minTimeout: 1000, factor: 2, onFailedAttempt: (e) => warn(`offsite ${key}: attempt ${e.attemptNumber} failed (${e.message}); retrying`) })
      .catch((e: Error) => { throw new ClawError(`offsite copy failed: ${e.message}`, { hint: "the local backup is complete; check OFFSITE_S3_* in .env.prod and the storage" }); });
  }
  return base;
}
