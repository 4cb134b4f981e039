"""Celery app of the backend stand-in (worker and beat use the real Celery from Debian).

Set for rolling deploys: a task is acknowledged only when it is done (acks_late) and
requeued if its worker is killed, so a worker stopped by a deploy loses nothing; a
stopped worker's warm shutdown lets running tasks finish first.
"""
import socket
import time

import redis
from celery import Celery

from . import settings

celery = Celery("claw_ai", broker=settings.REDIS_URL, backend=settings.REDIS_URL)
celery.conf.beat_schedule = {"heartbeat": {"task": "app.worker.heartbeat", "schedule": 60.0}}
if settings.BEAT_TICK_SECONDS > 0:
    # Evaluated in the beat process: each tick carries the host of the beat that sent it.
    celery.conf.beat_schedule["tick"] = {
        "task": "app.worker.tick",
        "schedule": settings.BEAT_TICK_SECONDS,
        "args": (socket.gethostname(),),
    }
celery.conf.broker_connection_retry_on_startup = True
celery.conf.task_acks_late = True
celery.conf.task_reject_on_worker_lost = True
celery.conf.worker_prefetch_multiplier = 1
cache = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3)


@celery.task
def heartbeat():
    return "ok"


@celery.task(ignore_result=True)
def tick(beat_host):
    cache.rpush("test:beat:ticks", f"{time.time():.3f} {beat_host}")


@celery.task
def slow(seconds, key):
    time.sleep(seconds)
    cache.set(key, "done")
    return "done"
