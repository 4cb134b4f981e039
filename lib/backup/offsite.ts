/**
 * Optional offsite copy of each new backup to S3-compatible storage (AWS S3, MinIO, Tencent
 * COS, Aliyun OSS), configured in .env.prod (OFFSITE_S3_*). Each file is streamed with its
 * Content-MD5 (the server rejects damaged bytes), retried with p-retry on network errors and
 * 5xx, then checked with HEAD (size and ETag). manifest.json goes last, so a remote backup
 * without a manifest is known to be incomplete.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import pRetry, { AbortError } from "p-retry";
import { ClawError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import { abortMultipart, completeMultipart, createMultipart, head, multipartEtag, planParts, putFile, S3Error, uploadPart } from "../infra/s3.ts";
import type { OffsiteSettings } from "../project/config.ts";
import { hashFile, MANIFEST } from "./manifest.ts";

const md5File = async (file: string, start = 0, end?: number): Promise<Buffer> => (await hashFile(file, "md5", start, end)).digest;

const retryOptions = (what: string, warn: (m: string) => void) => ({
  retries: 4,
  minTimeout: 1000,
  factor: 2,
  onFailedAttempt: (e: { attemptNumber: number; message: string }) =>
    warn(msg.backup.offsite.retrying({ what, attempt: e.attemptNumber, reason: e.message })),
});

/** Wrong credentials, missing bucket, bad digest: retrying will not help. */
async function noRetryOn4xx<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof S3Error && e.status >= 400 && e.status < 500) throw new AbortError(e.message);
    throw e;
  }
}

/** Upload one file in one PUT or in parts; returns the ETag the object must end up with. */
async function upload(c: OffsiteSettings, key: string, file: string, warn: (m: string) => void): Promise<string> {
  const size = statSync(file).size;
  if (size <= c.partBytes) {
    const md5 = await md5File(file);
    await pRetry(() => noRetryOn4xx(() => putFile(c, key, file, md5)), retryOptions(key, warn));
    return md5.toString("hex");
  }
  // Each part is retried on its own; a failed upload is aborted so no orphan parts are billed.
  const uploadId = await pRetry(() => noRetryOn4xx(() => createMultipart(c, key)), retryOptions(key, warn));
  try {
    const done: Array<{ n: number; etag: string }> = [];
    const md5s: Buffer[] = [];
    for (const part of planParts(size, c.partBytes)) {
      const md5 = await md5File(file, part.start, part.end);
      const etag = await pRetry(
        () => noRetryOn4xx(() => uploadPart(c, key, uploadId, part, file, md5)),
        retryOptions(msg.backup.offsite.part({ key, n: part.n }), warn),
      );
      if (etag !== md5.toString("hex")) throw new Error(msg.backup.offsite.partDiffers({ key, n: part.n }));
      done.push({ n: part.n, etag });
      md5s.push(md5);
    }
    await pRetry(() => noRetryOn4xx(() => completeMultipart(c, key, uploadId, done)), retryOptions(key, warn));
    return multipartEtag(md5s);
  } catch (e) {
    await abortMultipart(c, key, uploadId).catch(() => undefined);
    throw e;
  }
}

/** Upload one backup directory; returns the remote key prefix. */
export async function copyOffsite(c: OffsiteSettings, dir: string, tier: string, id: string, warn: (m: string) => void): Promise<string> {
  const base = `${c.prefix}/${tier}/${id}`;
  const files = readdirSync(dir)
    .filter((f) => f !== MANIFEST)
    .sort();
  for (const f of [...files, MANIFEST]) {
    const file = join(dir, f);
    const key = `${base}/${f}`;
    try {
      // The whole file again if the stored object is not what was sent. A request that failed
      // is not: upload() has retried each one already.
      await pRetry(
        async () => {
          const etag = await upload(c, key, file, warn).catch((e: Error) => {
            throw new AbortError(e.message);
          });
          const h = await head(c, key);
          if (!h || h.size !== statSync(file).size || h.etag !== etag) throw new Error(msg.backup.offsite.differsAfterUpload({ key }));
        },
        retryOptions(key, warn),
      );
    } catch (e) {
      throw new ClawError(msg.backup.offsite.failed({ reason: (e as Error).message }), {
        hint: msg.backup.offsite.failedHint,
      });
    }
  }
  return base;
}
