#!/usr/bin/env python3
"""MinIO stand-in: a small but real S3-compatible server (path-style, SigV4).

Honours the contract of minio/minio:RELEASE.2023-03-20T20-16-18Z that claw-ops relies on:
`minio server /minio_data --console-address :9001`, MINIO_ROOT_USER / MINIO_ROOT_PASSWORD
(MINIO_ACCESS_KEY / MINIO_SECRET_KEY still accepted with a warning, minioadmin by default),
/minio/health/live and /minio/health/ready without auth, objects kept under the data dir.
Objects are plain files under <data>/<bucket>/<key>; metadata lives in <data>/.minio.sys.
"""
import base64
import hashlib
import hmac
import json
import signal
import os
import shutil
import sys
import threading
import urllib.parse
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

ARGS = sys.argv[1:]
if ARGS[:1] == ["server"]:
    ARGS = ARGS[1:]
DATA = "/data"
CONSOLE = ":9001"
ADDRESS = ":9000"
i = 0
while i < len(ARGS):
    if ARGS[i] == "--console-address":
        CONSOLE = ARGS[i + 1]; i += 2
    elif ARGS[i] == "--address":
        ADDRESS = ARGS[i + 1]; i += 2
    else:
        DATA = ARGS[i]; i += 1

ACCESS = os.environ.get("MINIO_ROOT_USER")
SECRET = os.environ.get("MINIO_ROOT_PASSWORD")
if not ACCESS and os.environ.get("MINIO_ACCESS_KEY"):
    print("WARNING: MINIO_ACCESS_KEY and MINIO_SECRET_KEY are deprecated.", file=sys.stderr)
    ACCESS, SECRET = os.environ["MINIO_ACCESS_KEY"], os.environ.get("MINIO_SECRET_KEY", "")
if not ACCESS:
    ACCESS, SECRET = "minioadmin", "minioadmin"

SYS = os.path.join(DATA, ".minio.sys")
META = os.path.join(SYS, "meta")
UPLOADS = os.path.join(SYS, "multipart")
LOCK = threading.Lock()


def now_iso(ts=None):
    d = datetime.fromtimestamp(ts, timezone.utc) if ts else datetime.now(timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def valid_bucket(name):
    return 3 <= len(name) <= 63 and all(c.islower() or c.isdigit() or c in "-." for c in name)


def safe_key(key):
    parts = key.split("/")
    return key and not key.startswith("/") and all(p not in (".", "..") for p in parts) and "\0" not in key


def obj_path(bucket, key):
    return os.path.join(DATA, bucket, *key.split("/"))


def meta_path(bucket, key):
    return os.path.join(META, bucket, *key.split("/")) + ".json"


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MinIO"

    def log_message(self, fmt, *args):  # quiet: health checks would flood the logs
        pass

    # ---- plumbing -------------------------------------------------------------------------
    def send(self, code, body=b"", ctype="application/xml", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, s3code, message):
        self.send(code, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{s3code}</Code>"
                        f"<Message>{escape(message)}</Message></Error>")

    def read_body_to(self, fh):
        """Copy the request body into fh (streaming), decoding aws-chunked if used."""
        h = hashlib.md5()
        if "chunked" in self.headers.get("Transfer-Encoding", "") or \
                "aws-chunked" in self.headers.get("Content-Encoding", "") or \
                self.headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
            while True:
                line = self.rfile.readline().decode().strip()
                if not line:
                    continue
                size = int(line.split(";")[0], 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    remaining -= len(chunk)
                    h.update(chunk); fh.write(chunk)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    raise IOError("client closed the connection early")
                remaining -= len(chunk)
                h.update(chunk); fh.write(chunk)
        return h.hexdigest()

    def digest_ok(self, md5_hex):
        """S3 checks Content-MD5 when it is sent (BadDigest otherwise)."""
        given = self.headers.get("Content-MD5")
        return not given or base64.b64decode(given).hex() == md5_hex

    def read_small_body(self):
        import io
        b = io.BytesIO()
        self.read_body_to(b)
        return b.getvalue()

    # ---- SigV4 --------------------------------------------------------------------------------
    def authorised(self, parsed, query):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("AWS4-HMAC-SHA256 "):
            fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
            cred, signed, given = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
            amzdate = self.headers.get("x-amz-date", "")
            payload = self.headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            q = [(k, v) for k, vs in query.items() for v in vs]
        elif "X-Amz-Signature" in query:
            cred = query["X-Amz-Credential"][0]
            signed = query["X-Amz-SignedHeaders"][0]
            given = query["X-Amz-Signature"][0]
            amzdate = query["X-Amz-Date"][0]
            payload = "UNSIGNED-PAYLOAD"
            q = [(k, v) for k, vs in query.items() for v in vs if k != "X-Amz-Signature"]
        else:
            return False
        access, date, region, service, _ = cred.split("/")
        if access != ACCESS:
            return False
        enc = lambda s: urllib.parse.quote(s, safe="-_.~")
        cq = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(q))
        heads = ""
        for name in signed.split(";"):
            value = self.headers.get(name, "")
            if name == "host" and not value:
                value = self.headers.get("Host", "")
            heads += f"{name}:{' '.join(value.strip().split())}\n"
        canonical = "\n".join([self.command, parsed.path, cq, heads, signed, payload])
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = sign(("AWS4" + SECRET).encode(), date)
        k = sign(sign(sign(k, region), service), "aws4_request")
        expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given)

    # ---- dispatch ------------------------------------------------------------------------
    def handle_any(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        if parsed.path in ("/minio/health/live", "/minio/health/ready", "/minio/health/cluster"):
            return self.send(200, b"", "text/plain")
        if not self.authorised(parsed, query):
            # Drain the body so that keep-alive clients see the error, not a reset.
            if self.command in ("PUT", "POST"):
                try:
                    self.read_small_body() if int(self.headers.get("Content-Length", "0")) < (1 << 24) else None
                except Exception:
                    pass
            return self.error(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you provided.")
        path = urllib.parse.unquote(parsed.path)
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0]
        key = parts[1] if len(parts) > 1 else ""
        if not bucket:
            return self.list_buckets()
        if not valid_bucket(bucket):
            return self.error(400, "InvalidBucketName", "The specified bucket is not valid.")
        if not key:
            return self.bucket_op(bucket, query)
        if not safe_key(key):
            return self.error(400, "InvalidObjectName", "Object name contains unsupported characters.")
        if not os.path.isdir(os.path.join(DATA, bucket)):
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist")
        return self.object_op(bucket, key, query)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    # ---- buckets -----------------------------------------------------------------------------
    def list_buckets(self):
        items = "".join(
            f"<Bucket><Name>{escape(b)}</Name><CreationDate>{now_iso(os.path.getctime(os.path.join(DATA, b)))}</CreationDate></Bucket>"
            for b in sorted(os.listdir(DATA)) if not b.startswith(".") and os.path.isdir(os.path.join(DATA, b)))
        self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListAllMyBucketsResult><Owner><ID>minio</ID></Owner>"
                       f"<Buckets>{items}</Buckets></ListAllMyBucketsResult>")

    def bucket_op(self, bucket, query):
        bdir = os.path.join(DATA, bucket)
        if self.command == "PUT":
            self.read_small_body()
            if os.path.isdir(bdir):
                return self.error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
            os.makedirs(bdir)
            return self.send(200, b"", headers={"Location": "/" + bucket})
        if not os.path.isdir(bdir):
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist")
        if self.command == "HEAD":
            return self.send(200)
        if self.command == "DELETE":
            if any(True for _ in self.walk(bucket, "")):
                return self.error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
            shutil.rmtree(bdir)
            shutil.rmtree(os.path.join(META, bucket), ignore_errors=True)
            return self.send(204)
        if self.command == "POST" and "delete" in query:
            import xml.etree.ElementTree as ET
            root = ET.fromstring(self.read_small_body())
            done = ""
            for el in root.iter():
                if el.tag.endswith("Key"):
                    self.remove_object(bucket, el.text or "")
                    done += f"<Deleted><Key>{escape(el.text or '')}</Key></Deleted>"
            return self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult>{done}</DeleteResult>")
        if self.command == "GET" and "location" in query:
            return self.send(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint>us-east-1</LocationConstraint>")
        if self.command == "GET" and "uploads" in query:  # ListMultipartUploads: unfinished ones
            ups = ""
            for uid in sorted(os.listdir(UPLOADS)) if os.path.isdir(UPLOADS) else []:
                try:
                    with open(os.path.join(UPLOADS, uid, "info.json")) as f:
                        info = json.load(f)
                except OSError:
                    continue
                if info.get("bucket") == bucket:
                    ups += f"<Upload><Key>{escape(info.get('key', ''))}</Key><UploadId>{uid}</UploadId></Upload>"
            return self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult><Bucket>{escape(bucket)}</Bucket>"
                                  f"<IsTruncated>false</IsTruncated>{ups}</ListMultipartUploadsResult>")
        if self.command == "GET":
            return self.list_objects(bucket, query)
        return self.error(501, "NotImplemented", "Not implemented by the stand-in")

    def walk(self, bucket, prefix):
        base = os.path.join(DATA, bucket)
        for root, dirs, files in os.walk(base):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                key = os.path.relpath(full, base).replace(os.sep, "/")
                if key.startswith(prefix):
                    yield key, full

    def list_objects(self, bucket, query):
        prefix = query.get("prefix", [""])[0]
        delim = query.get("delimiter", [""])[0]
        v2 = query.get("list-type", [""])[0] == "2"
        start = query.get("continuation-token", query.get("start-after", query.get("marker", [""])))[0]
        max_keys = int(query.get("max-keys", ["1000"])[0])
        keys = sorted(self.walk(bucket, prefix))
        contents, prefixes, truncated, last = [], [], False, ""
        for key, full in keys:
            if start and key <= start:
                continue
            if delim and delim in key[len(prefix):]:
                p = prefix + key[len(prefix):].split(delim, 1)[0] + delim
                if p not in prefixes:
                    prefixes.append(p)
                continue
            if len(contents) >= max_keys:
                truncated = True
                break
            st = os.stat(full)
            meta = self.read_meta(bucket, key)
            contents.append(f"<Contents><Key>{escape(key)}</Key><LastModified>{now_iso(st.st_mtime)}</LastModified>"
                            f"<ETag>&quot;{meta.get('etag', '')}&quot;</ETag><Size>{st.st_size}</Size>"
                            f"<StorageClass>STANDARD</StorageClass></Contents>")
            last = key
        cp = "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in prefixes)
        extra = (f"<KeyCount>{len(contents)}</KeyCount>" + (f"<NextContinuationToken>{escape(last)}</NextContinuationToken>" if truncated else "")) if v2 \
            else (f"<NextMarker>{escape(last)}</NextMarker>" if truncated else "")
        self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>{escape(bucket)}</Name>"
                       f"<Prefix>{escape(prefix)}</Prefix><MaxKeys>{max_keys}</MaxKeys>"
                       f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{extra}{''.join(contents)}{cp}</ListBucketResult>")

    # ---- objects -------------------------------------------------------------------------------
    def read_meta(self, bucket, key):
        try:
            with open(meta_path(bucket, key)) as f:
                return json.load(f)
        except OSError:
            return {}

    def write_meta(self, bucket, key, meta):
        mp = meta_path(bucket, key)
        os.makedirs(os.path.dirname(mp), exist_ok=True)
        with open(mp + ".tmp", "w") as f:
            json.dump(meta, f)
        os.replace(mp + ".tmp", mp)

    def remove_object(self, bucket, key):
        if not safe_key(key):
            return
        for p in (obj_path(bucket, key), meta_path(bucket, key)):
            try:
                os.remove(p)
            except OSError:
                pass
        # Drop directories that only held this key so the listing stays exact.
        d = os.path.dirname(obj_path(bucket, key))
        base = os.path.join(DATA, bucket)
        while d != base and d.startswith(base):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = os.path.dirname(d)

    def object_op(self, bucket, key, query):
        if "uploads" in query and self.command == "POST":
            upload_id = uuid.uuid4().hex
            os.makedirs(os.path.join(UPLOADS, upload_id))
            with open(os.path.join(UPLOADS, upload_id, "info.json"), "w") as f:
                json.dump({"bucket": bucket, "key": key, "type": self.headers.get("Content-Type", "")}, f)
            self.read_small_body()
            return self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>{escape(bucket)}</Bucket>"
                                  f"<Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>")
        if "uploadId" in query:
            return self.multipart(bucket, key, query)
        path = obj_path(bucket, key)
        if self.command == "PUT":
            if "x-amz-copy-source" in self.headers:
                return self.error(501, "NotImplemented", "CopyObject is not implemented by the stand-in")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = os.path.join(SYS, "tmp", uuid.uuid4().hex)
            with open(tmp, "wb") as f:
                etag = self.read_body_to(f)
            if not self.digest_ok(etag):
                os.remove(tmp)
                return self.error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
            os.replace(tmp, path)
            self.write_meta(bucket, key, {"etag": etag, "type": self.headers.get("Content-Type", "application/octet-stream")})
            return self.send(200, b"", headers={"ETag": f'"{etag}"'})
        if self.command == "DELETE":  # S3 answers 204 whether or not the key existed
            self.remove_object(bucket, key)
            return self.send(204)
        if not os.path.isfile(path):
            return self.error(404, "NoSuchKey", "The specified key does not exist.")
        st = os.stat(path)
        meta = self.read_meta(bucket, key)
        headers = {"ETag": f'"{meta.get("etag", "")}"',
                   "Last-Modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
                   "Accept-Ranges": "bytes"}
        self.send_response(200)
        self.send_header("Content-Type", meta.get("type", "application/octet-stream"))
        self.send_header("Content-Length", str(st.st_size))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "GET":
            with open(path, "rb") as f:
                shutil.copyfileobj(f, self.wfile, 1 << 20)

    def multipart(self, bucket, key, query):
        upload_id = query["uploadId"][0]
        udir = os.path.join(UPLOADS, os.path.basename(upload_id))
        if not os.path.isdir(udir):
            return self.error(404, "NoSuchUpload", "The specified multipart upload does not exist.")
        if self.command == "PUT":
            n = int(query["partNumber"][0])
            with open(os.path.join(udir, f"part.{n:05d}"), "wb") as f:
                etag = self.read_body_to(f)
            if not self.digest_ok(etag):
                os.remove(os.path.join(udir, f"part.{n:05d}"))
                return self.error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
            return self.send(200, b"", headers={"ETag": f'"{etag}"'})
        if self.command == "DELETE":
            shutil.rmtree(udir)
            return self.send(204)
        if self.command == "POST":
            import xml.etree.ElementTree as ET
            root = ET.fromstring(self.read_small_body())
            numbers = [int(el.text) for el in root.iter() if el.tag.endswith("PartNumber")]
            with open(os.path.join(udir, "info.json")) as f:
                info = json.load(f)
            path = obj_path(bucket, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = os.path.join(SYS, "tmp", uuid.uuid4().hex)
            md5s = b""
            with open(tmp, "wb") as out:
                for n in numbers:
                    h = hashlib.md5()
                    with open(os.path.join(udir, f"part.{n:05d}"), "rb") as part:
                        for chunk in iter(lambda: part.read(1 << 20), b""):
                            h.update(chunk); out.write(chunk)
                    md5s += h.digest()
            etag = f"{hashlib.md5(md5s).hexdigest()}-{len(numbers)}"
            os.replace(tmp, path)
            self.write_meta(bucket, key, {"etag": etag, "type": info.get("type") or "application/octet-stream"})
            shutil.rmtree(udir)
            return self.send(200, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Bucket>{escape(bucket)}</Bucket>"
                                  f"<Key>{escape(key)}</Key><ETag>&quot;{etag}&quot;</ETag></CompleteMultipartUploadResult>")
        return self.error(501, "NotImplemented", "Not implemented by the stand-in")


class Console(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = b"<html><body>MinIO console stand-in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


# PID 1 in a container ignores SIGTERM unless it is handled: stop at once, as the real server does.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if __name__ == "__main__":
    for d in (DATA, META, UPLOADS, os.path.join(SYS, "tmp")):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(SYS, "format.json"), "w") as f:
        json.dump({"version": "1", "format": "claw-standin-fs"}, f)
    ThreadingHTTPServer.daemon_threads = True
    console = ThreadingHTTPServer(("0.0.0.0", port_of(CONSOLE)), Console)
    threading.Thread(target=console.serve_forever, daemon=True).start()
    print(f"MinIO stand-in: API http://0.0.0.0:{port_of(ADDRESS)} data {DATA}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port_of(ADDRESS)), Handler).serve_forever()
