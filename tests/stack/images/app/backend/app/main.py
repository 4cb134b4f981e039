"""CLAW.AI backend stand-in: a small real FastAPI app over Postgres, Redis and Milvus.

/health checks Postgres and Redis for real; /version returns the image tag; the /api/test/*
endpoints let the claw-ops tests write and read real data in every component.
"""
import json
import os
import time
import urllib.request

import redis
from fastapi import FastAPI, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from sqlalchemy import create_engine, text

from . import settings

app = FastAPI(title="CLAW.AI backend (stand-in)")
engine = create_engine(settings.DATABASE_URL, pool_pre_ping=True, pool_size=5)
cache = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3)
REQUESTS = Counter("claw_http_requests_total", "HTTP requests", ["path"])


@app.middleware("http")
async def count(request: Request, call_next):
    REQUESTS.labels(path=request.url.path).inc()
    return await call_next(request)


@app.get("/health")
def health(response: Response):
    checks = {}
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        checks["postgres"] = "ok"
    except Exception as e:
        checks["postgres"] = f"error: {type(e).__name__}"
    try:
        cache.ping()
        checks["redis"] = "ok"
    except Exception as e:
        checks["redis"] = f"error: {type(e).__name__}"
    if settings.BROKEN_HEALTH:
        checks["release"] = "error: this test release is built to fail its health check"
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "degraded", "version": settings.VERSION, **checks}


@app.get("/version")
def version():
    return {"version": settings.VERSION}


@app.post("/echo")
async def echo(request: Request):
    return await request.json()


@app.get("/metrics")
def metrics():
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# ---- test endpoints: write and read real data --------------------------------------------
@app.post("/api/test/users")
async def add_user(request: Request):
    body = await request.json()
    with engine.begin() as c:
        row = c.execute(text("INSERT INTO users (email, name) VALUES (:email, :name) RETURNING id"),
                        {"email": body["email"], "name": body.get("name")}).one()
    return {"id": row[0]}


@app.get("/api/test/counts")
def counts():
    out = {}
    with engine.connect() as c:
        for table in ("users", "knowledge_base", "conversations", "messages"):
            try:
                out[table] = c.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            except Exception:
                out[table] = None
    out["redis_keys"] = cache.dbsize()
    return out


@app.post("/api/test/cache")
async def set_cache(request: Request):
    body = await request.json()
    cache.set(body["key"], body["value"], ex=body.get("ttl"))
    return {"ok": True}


@app.get("/api/test/cache/{key}")
def get_cache(key: str):
    value = cache.get(key)
    if value is None:
        raise HTTPException(404, "no such key")
    return {"key": key, "value": value.decode()}


@app.put("/api/test/uploads/{name}")
async def upload(name: str, request: Request):
    if "/" in name or name in (".", ".."):
        raise HTTPException(400, "bad name")
    path = os.path.join(settings.UPLOAD_DIR, name)
    with open(path + ".part", "wb") as f:
        async for chunk in request.stream():
            f.write(chunk)
    os.replace(path + ".part", path)
    return {"name": name, "bytes": os.path.getsize(path)}


def milvus(path, body):
    req = urllib.request.Request(settings.MILVUS_URL + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


@app.post("/api/test/vectors/{collection}")
async def add_vectors(collection: str, request: Request):
    body = await request.json()
    milvus("/v1/vector/collections/create", {"collectionName": collection, "dimension": len(body["vectors"][0])})
    rows = [{"id": i, "vector": v, "ts": time.time()} for i, v in enumerate(body["vectors"])]
    return milvus("/v1/vector/insert", {"collectionName": collection, "data": rows})


@app.get("/api/test/vectors/{collection}")
def get_vectors(collection: str):
    return milvus("/v1/vector/query", {"collectionName": collection})


@app.post("/api/test/tasks/slow")
async def slow_task(request: Request):
    from .worker import slow

    body = await request.json()
    result = slow.delay(body["seconds"], body["key"])
    return {"id": result.id}


@app.get("/api/test/beat-ticks")
def beat_ticks():
    return {"ticks": [t.decode() for t in cache.lrange("test:beat:ticks", 0, -1)]}
