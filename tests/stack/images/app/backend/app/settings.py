"""Configuration from the environment, as the real CLAW.AI backend takes it."""
import os

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://claw_ai@postgres:5432/claw_ai")
REDIS_URL = os.environ.get("REDIS_URL", "redis://redis:6379/0")
MILVUS_URL = os.environ.get("MILVUS_URL", "http://milvus-standalone:19530")
UPLOAD_DIR = os.environ.get("UPLOAD_DIR", "/app/uploads")
VERSION = os.environ.get("APP_VERSION", "unknown")
# Test knobs: a release whose health check fails, and beat ticks for the deploy tests.
BROKEN_HEALTH = os.environ.get("CLAW_TEST_BROKEN_HEALTH") == "1"
BEAT_TICK_SECONDS = float(os.environ.get("BEAT_TICK_SECONDS", "0") or 0)
