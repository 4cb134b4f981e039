import assert from "node:assert/strict";
import { test } from "node:test";
import { EMPTY_SHA256, objectUrl, signV4, uriEncode } from "../../lib/s3.ts";
import { Secret } from "../../lib/secret.ts";

test("SigV4 matches AWS's published GET Object example", () => {
  const auth = signV4({
    method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
    headers: { range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z" },
    payloadHash: EMPTY_SHA256, region: "us-east-1", accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", amzDate: "20130524T000000Z",
  });
  assert.equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
});

test("object URLs are path-style or virtual-hosted, keys encoded once", () => {
  const c = { endpoint: "https://oss-cn-hangzhou.aliyuncs.com", region: "oss-cn-hangzhou", bucket: "claw", accessKey: "a", secretKey: new Secret("s3cret-key"), pathStyle: false };
  assert.equal(objectUrl(c, "host/20240215-020000/a b.tar").href, "https://claw.oss-cn-hangzhou.aliyuncs.com/host/20240215-020000/a%20b.tar");
  assert.equal(objectUrl({ ...c, endpoint: "http://127.0.0.1:9001", pathStyle: true }, "x/y").href, "http://127.0.0.1:9001/claw/x/y");
  assert.equal(uriEncode("a b/c*(d)", true), "a%20b/c%2A%28d%29");
});
