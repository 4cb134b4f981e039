"""Celery app of the backend stand-in (worker and beat use the real Celery from Debian)."""
from celery import Celery

from . import settings

celery = Celery("claw_ai", broker=settings.REDIS_URL, backend=settings.REDIS_URL)
celery.conf.beat_schedule = {"heartbeat": {"task": "app.worker.heartbeat", "schedule": 60.0}}
celery.conf.broker_connection_retry_on_startup = True


@celery.task
def heartbeat():
    return "ok"
