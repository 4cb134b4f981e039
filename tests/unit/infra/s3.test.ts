import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Secret } from "../../../lib/core/secret.ts";
import { completeXml, EMPTY_SHA256, multipartEtag, objectUrl, planParts, signV4, uriEncode } from "../../../lib/infra/s3.ts";

test("SigV4 matches AWS's published GET Object example", () => {
  const auth = signV4({
    method: "GET",
    host: "examplebucket.s3.amazonaws.com",
    path: "/test.txt",
    headers: { range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z" },
    payloadHash: EMPTY_SHA256,
    region: "us-east-1",
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    amzDate: "20130524T000000Z",
  });
  assert.equal(
    auth,
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

test("object URLs are path-style or virtual-hosted, keys encoded once", () => {
  const c = {
    endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
    region: "oss-cn-hangzhou",
    bucket: "claw",
    accessKey: "a",
    secretKey: new Secret("s3cret-key"),
    pathStyle: false,
  };
  assert.equal(objectUrl(c, "host/20240215-020000/a b.tar").href, "https://claw.oss-cn-hangzhou.aliyuncs.com/host/20240215-020000/a%20b.tar");
  assert.equal(objectUrl({ ...c, endpoint: "http://127.0.0.1:9001", pathStyle: true }, "x/y").href, "http://127.0.0.1:9001/claw/x/y");
  assert.equal(uriEncode("a b/c*(d)", true), "a%20b/c%2A%28d%29");
});

test("SigV4 signs query parameters as AWS's published examples do (?lifecycle, ?max-keys=2&prefix=J)", () => {
  const base = {
    method: "GET",
    host: "examplebucket.s3.amazonaws.com",
    path: "/",
    headers: { "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z" },
    payloadHash: EMPTY_SHA256,
    region: "us-east-1",
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    amzDate: "20130524T000000Z",
  };
  assert.match(signV4({ ...base, query: { lifecycle: "" } }), /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/);
  assert.match(
    signV4({ ...base, query: { prefix: "J", "max-keys": "2" } }),
    /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
  );
  // Multipart requests, cross-checked with botocore's S3SigV4Auth on the same inputs.
  assert.match(
    signV4({ ...base, path: "/k", query: { uploadId: "abc/d", partNumber: "2" } }),
    /Signature=7a38fb7d78ab10cd709db03a8620ce0e4d4103704d78b1cb1bc69cd275e0f493$/,
  );
  assert.match(
    signV4({ ...base, path: "/k", query: { uploads: "" } }),
    /Signature=dceadeabe619c646e05b49617c55c2c23f844870f152e8954b3e6aa58331566d$/,
  );
  assert.equal(uriEncode("", false), "");
});

test("a file is cut into numbered parts of the part size, the last one shorter; never more than 10,000", () => {
  const MiB = 1024 * 1024;
  assert.deepEqual(planParts(12 * MiB, 5 * MiB), [
    { n: 1, start: 0, end: 5 * MiB - 1 },
    { n: 2, start: 5 * MiB, end: 10 * MiB - 1 },
    { n: 3, start: 10 * MiB, end: 12 * MiB - 1 },
  ]);
  assert.deepEqual(
    planParts(10 * MiB, 5 * MiB).map((p) => p.end - p.start + 1),
    [5 * MiB, 5 * MiB],
    "no empty last part",
  );
  assert.equal(planParts(10 * MiB, 1).length, 2, "parts are at least 5 MiB");
  const huge = planParts(100_000 * 64 * MiB, 64 * MiB);
  assert.equal(huge.length, 10_000);
  assert.equal(huge.at(-1)!.end, 100_000 * 64 * MiB - 1);
});

test("the multipart ETag is the md5 of the parts' md5s with the part count; completion lists parts in order", () => {
  const md5 = (s: string) => createHash("md5").update(s).digest();
  assert.equal(
    multipartEtag([md5("a"), md5("b")]),
    `${createHash("md5")
      .update(Buffer.concat([md5("a"), md5("b")]))
      .digest("hex")}-2`,
  );
  assert.equal(
    completeXml([
      { n: 1, etag: "e1" },
      { n: 2, etag: "e2" },
    ]),
    '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e1"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"e2"</ETag></Part></CompleteMultipartUpload>',
  );
});
