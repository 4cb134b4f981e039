#!/usr/bin/env python3
"""Milvus v2.3.3 standalone stand-in.

Keeps the storage layout that makes a Milvus backup hard, so claw-ops is tested against it:
- collection and segment metadata in etcd under ETCD_ROOTPATH (by-dev/meta/...),
- segment objects in MinIO bucket MINIO_BUCKETNAME (a-bucket) under MINIO_ROOTPATH (files/insert_log/...),
- a write-ahead log of not-yet-flushed inserts under /var/lib/milvus/rdb_data.
Ports: 19530 (a RESTful subset: /v1/vector/...) and 9091 (/healthz, /metrics).
Started as `milvus run standalone`, like the official image.
"""
import base64
import json
import signal
import sys
import os
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

ETCD = os.environ.get("ETCD_ENDPOINTS", "localhost:2379").split(",")[0]
if not ETCD.startswith("http"):
    ETCD = "http://" + ETCD
ETCD_ROOT = os.environ.get("ETCD_ROOTPATH", "by-dev")
MINIO = os.environ.get("MINIO_ADDRESS", "localhost:9000")
BUCKET = os.environ.get("MINIO_BUCKETNAME", "a-bucket")
ROOT = os.environ.get("MINIO_ROOTPATH", "files")
WAL = "/var/lib/milvus/rdb_data"
LOCK = threading.Lock()

s3 = boto3.client(
    "s3", endpoint_url=f"http://{MINIO}",
    aws_access_key_id=os.environ.get("MINIO_ACCESS_KEY_ID", "minioadmin"),
    aws_secret_access_key=os.environ.get("MINIO_SECRET_ACCESS_KEY", "minioadmin"),
    region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                           retries={"max_attempts": 2}))


def b64(s):
    return base64.b64encode(s.encode()).decode()


def etcd_call(path, body):
    req = urllib.request.Request(ETCD + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def etcd_put(key, value):
    etcd_call("/v3/kv/put", {"key": b64(f"{ETCD_ROOT}/{key}"), "value": b64(json.dumps(value))})


def etcd_prefix(prefix):
    start = f"{ETCD_ROOT}/{prefix}"
    end = start[:-1] + chr(ord(start[-1]) + 1)
    out = etcd_call("/v3/kv/range", {"key": b64(start), "range_end": b64(end)})
    return [(base64.b64decode(kv["key"]).decode(), json.loads(base64.b64decode(kv["value"])))
            for kv in out.get("kvs", [])]


def healthy():
    try:
        etcd_call("/v3/maintenance/status", {})
        s3.head_bucket(Bucket=BUCKET)
        return True
    except Exception:
        return False


def ensure_bucket():
    try:
        s3.head_bucket(Bucket=BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=BUCKET)


def replay_wal():
    """Flush inserts that were logged but not yet written as segments (crash recovery)."""
    for name in sorted(os.listdir(WAL)):
        if name.endswith(".json"):
            with open(os.path.join(WAL, name)) as f:
                entry = json.load(f)
            flush(entry)


def flush(entry):
    seg = entry["segment"]
    coll = entry["collection"]
    key = f"{ROOT}/insert_log/{coll}/{seg}/data.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(entry["rows"]).encode())
    etcd_put(f"meta/datacoord-meta/s/{coll}/{seg}", {"segment": seg, "rows": len(entry["rows"]), "object": key})
    os.remove(os.path.join(WAL, f"{seg}.json"))


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        if self.path in ("/healthz", "/api/v1/health"):
            ok = healthy()
            body = b"OK" if ok else b"unhealthy"
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if self.path == "/metrics":
            body = b"# TYPE milvus_up gauge\nmilvus_up 1\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if self.path == "/v1/vector/collections":
            names = [v["name"] for _, v in etcd_prefix("meta/root-coord/collection/")]
            return self.reply(200, {"code": 200, "data": names})
        return self.reply(404, {"code": 404, "message": "not found"})

    def do_POST(self):
        try:
            req = self.body()
            if self.path == "/v1/vector/collections/create":
                etcd_put(f"meta/root-coord/collection/{req['collectionName']}",
                         {"name": req["collectionName"], "dimension": req.get("dimension", 0), "created": time.time()})
                return self.reply(200, {"code": 200, "data": {}})
            if self.path == "/v1/vector/insert":
                coll = req["collectionName"]
                rows = req["data"] if isinstance(req["data"], list) else [req["data"]]
                seg = f"{int(time.time() * 1000)}{uuid.uuid4().hex[:6]}"
                entry = {"collection": coll, "segment": seg, "rows": rows}
                with LOCK:
                    with open(os.path.join(WAL, f"{seg}.json.tmp"), "w") as f:
                        json.dump(entry, f)
                        f.flush(); os.fsync(f.fileno())
                    os.replace(os.path.join(WAL, f"{seg}.json.tmp"), os.path.join(WAL, f"{seg}.json"))
                    flush(entry)
                return self.reply(200, {"code": 200, "data": {"insertCount": len(rows)}})
            if self.path == "/v1/vector/query":
                coll = req["collectionName"]
                rows = []
                for _, meta in etcd_prefix(f"meta/datacoord-meta/s/{coll}/"):
                    obj = s3.get_object(Bucket=BUCKET, Key=meta["object"])
                    rows.extend(json.loads(obj["Body"].read()))
                return self.reply(200, {"code": 200, "data": rows})
            return self.reply(404, {"code": 404, "message": "not found"})
        except Exception as e:  # report like Milvus does, as a JSON error
            return self.reply(500, {"code": 500, "message": str(e)})


def serve(port):
    srv = ThreadingHTTPServer(("0.0.0.0", port), Api)
    srv.daemon_threads = True
    srv.serve_forever()


# PID 1 in a container ignores SIGTERM unless it is handled: stop at once, as the real server does.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if __name__ == "__main__":
    os.makedirs(WAL, exist_ok=True)
    os.makedirs("/var/lib/milvus/rdb_data_meta_kv", exist_ok=True)
    while True:  # like Milvus, wait for its dependencies before serving
        try:
            ensure_bucket()
            etcd_call("/v3/maintenance/status", {})
            break
        except Exception as e:
            print(f"waiting for etcd/minio: {e}", flush=True)
            time.sleep(1)
    replay_wal()
    threading.Thread(target=serve, args=(9091,), daemon=True).start()
    print("Milvus stand-in ready on 19530 and 9091", flush=True)
    serve(19530)
