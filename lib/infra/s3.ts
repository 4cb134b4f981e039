/**
 * A small S3 client for the offsite copy: AWS Signature V4 (pure, tested against AWS's
 * published example) and streaming PUT/HEAD over node:http(s). Works with AWS S3, MinIO,
 * Tencent COS and Aliyun OSS (virtual-hosted style for OSS: pathStyle false).
 * Bodies are streamed from files; nothing is held in memory.
 */
import { createHash, createHmac } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { msg } from "../core/i18n/index.ts";
import type { Secret } from "../core/secret.ts";

export interface S3Config {
  endpoint: string; // https://s3.amazonaws.com, http://127.0.0.1:9001, https://cos.ap-guangzhou.myqcloud.com …
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: Secret;
  pathStyle: boolean;
}

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const UNSIGNED = "UNSIGNED-PAYLOAD";

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");
/** RFC 3986 encoding as SigV4 wants it (keeps unreserved characters only). */
export const uriEncode = (s: string, keepSlash: boolean) => {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, "/") : e;
};

export interface SignInput {
  method: string;
  host: string;
  path: string; // already encoded
  query?: Record<string, string>;
  headers: Record<string, string>; // lower-case names; host is added
  payloadHash: string;
  region: string;
  accessKey: string;
  secretKey: string;
  amzDate: string; // YYYYMMDDTHHMMSSZ
}

/** Pure: the Authorization header of a SigV4-signed S3 request. */
export function signV4(i: SignInput): string {
  const date = i.amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...i.headers, host: i.host };
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, " ")}\n`).join("");
  const query = Object.entries(i.query ?? {})
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = [i.method, i.path, query.map(([k, v]) => `${k}=${v}`).join("&"), canonicalHeaders, names.join(";"), i.payloadHash].join("\n");
  const scope = `${date}/${i.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", i.amzDate, scope, sha256hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${i.secretKey}`, date), i.region), "s3"), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${i.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
}

export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** Pure: where a key lives for this config (path- or virtual-hosted style). */
export function objectUrl(c: S3Config, key: string): URL {
  const base = new URL(c.endpoint);
  const encodedKey = uriEncode(key, true);
  if (c.pathStyle) return new URL(`${base.origin}/${c.bucket}/${encodedKey}`);
  return new URL(`${base.protocol}//${c.bucket}.${base.host}/${encodedKey}`);
}

export class S3Error extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Body {
  /** Stream this file, or the byte range [start, end] of it (inclusive, as createReadStream takes it). */
  file?: string;
  start?: number;
  end?: number;
  /** A small text body (the multipart completion XML). */
  text?: string;
}

function send(
  c: S3Config,
  method: string,
  url: URL,
  o: Body & { headers?: Record<string, string>; query?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "x-amz-content-sha256": UNSIGNED, "x-amz-date": amzDate(new Date()), ...(o.headers ?? {}) };
  if (o.file) headers["content-length"] = String(o.end !== undefined ? o.end - (o.start ?? 0) + 1 : statSync(o.file).size - (o.start ?? 0));
  if (o.text !== undefined) headers["content-length"] = String(Buffer.byteLength(o.text));
  for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
  headers.authorization = signV4({
    method,
    host: url.host,
    path: url.pathname,
    query: o.query ?? {},
    headers,
    payloadHash: UNSIGNED,
    region: c.region,
    accessKey: c.accessKey,
    secretKey: c.secretKey.reveal(),
    amzDate: headers["x-amz-date"]!,
  });
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += body.length < 65536 ? d : ""));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(msg.project.infra.s3.timedOut({ method }))));
    req.on("error", reject);
    if (o.file)
      createReadStream(o.file, { start: o.start ?? 0, ...(o.end !== undefined ? { end: o.end } : {}), highWaterMark: 1 << 20 })
        .on("error", reject)
        .pipe(req);
    else req.end(o.text);
  });
}

const s3Message = (r: Response) => /<Code>([^<]+)<\/Code>/.exec(r.body)?.[1] ?? `HTTP ${r.status}`;

/** Streaming PUT with Content-MD5 (the server checks the bytes); returns the ETag. */
export async function putFile(c: S3Config, key: string, file: string, md5: Buffer): Promise<string> {
  const r = await send(c, "PUT", objectUrl(c, key), {
    file,
    headers: { "content-md5": md5.toString("base64"), "content-type": "application/octet-stream" },
  });
  if (r.status !== 200) throw new S3Error(msg.project.infra.s3.put({ key, reason: s3Message(r) }), r.status);
  return String(r.headers.etag ?? "").replace(/"/g, "");
}

export async function head(c: S3Config, key: string): Promise<{ etag: string; size: number } | undefined> {
  const r = await send(c, "HEAD", objectUrl(c, key));
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new S3Error(msg.project.infra.s3.head({ key, status: r.status }), r.status);
  return { etag: String(r.headers.etag ?? "").replace(/"/g, ""), size: Number(r.headers["content-length"] ?? -1) };
}

// ---- multipart upload (files over one part; S3 takes at most 5 GiB in one PUT) ----------------
export const MIN_PART = 5 * 1024 * 1024;
export const MAX_PART = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface Part {
  n: number;
  start: number;
  /** Inclusive. */
  end: number;
}

/** Pure: the parts of a file of `size` bytes, `partSize` each (grown to stay within 10,000 parts). */
export function planParts(size: number, partSize: number): Part[] {
  let p = Math.max(MIN_PART, partSize);
  if (Math.ceil(size / p) > MAX_PARTS) p = Math.ceil(size / MAX_PARTS);
  if (p > MAX_PART) throw new Error(msg.project.infra.s3.tooLarge({ size, parts: MAX_PARTS }));
  const parts: Part[] = [];
  for (let n = 1, start = 0; start < size || n === 1; n++, start += p) parts.push({ n, start, end: Math.min(size, start + p) - 1 });
  return parts;
}

/** Pure: the ETag S3 gives a multipart object: md5 of the parts' md5s, dash, part count. */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  return `${createHash("md5").update(Buffer.concat(partMd5s)).digest("hex")}-${partMd5s.length}`;
}

/** Pure: the CompleteMultipartUpload body. */
export function completeXml(parts: ReadonlyArray<{ n: number; etag: string }>): string {
  return `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>"${p.etag}"</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
}

export async function createMultipart(c: S3Config, key: string): Promise<string> {
  const r = await send(c, "POST", objectUrl(c, key), { query: { uploads: "" }, headers: { "content-type": "application/octet-stream" } });
  const id = /<UploadId>([^<]+)<\/UploadId>/.exec(r.body)?.[1];
  if (r.status !== 200 || !id) throw new S3Error(msg.project.infra.s3.createMultipart({ key, reason: s3Message(r) }), r.status);
  return id;
}

/** One part, streamed from its byte range, with its Content-MD5; returns the part's ETag. */
export async function uploadPart(c: S3Config, key: string, uploadId: string, part: Part, file: string, md5: Buffer): Promise<string> {
  const r = await send(c, "PUT", objectUrl(c, key), {
    query: { partNumber: String(part.n), uploadId },
    file,
    start: part.start,
    end: part.end,
    headers: { "content-md5": md5.toString("base64") },
  });
  if (r.status !== 200) throw new S3Error(msg.project.infra.s3.putPart({ key, part: part.n, reason: s3Message(r) }), r.status);
  return String(r.headers.etag ?? "").replace(/"/g, "");
}

export async function completeMultipart(
  c: S3Config,
  key: string,
  uploadId: string,
  parts: ReadonlyArray<{ n: number; etag: string }>,
): Promise<void> {
  const r = await send(c, "POST", objectUrl(c, key), {
    query: { uploadId },
    text: completeXml(parts),
    headers: { "content-type": "application/xml" },
  });
  // S3 can answer 200 with an <Error> body when completion fails late.
  if (r.status !== 200 || /<Error>/.test(r.body))
    throw new S3Error(msg.project.infra.s3.complete({ key, reason: s3Message(r) }), r.status === 200 ? 500 : r.status);
}

export async function abortMultipart(c: S3Config, key: string, uploadId: string): Promise<void> {
  await send(c, "DELETE", objectUrl(c, key), { query: { uploadId } });
}
