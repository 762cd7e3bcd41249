"""The real Redis for tests: each test module takes its own DB number and flushes it.

`QERS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) names the server; `.ci/run`
sets it. Where no Redis answers, the tests that need one are skipped with a reason that
says so; they are never silently passed.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

DEFAULT_URL = "redis://127.0.0.1:6379"
# One DB per user, so modules can run side by side and clean up only their own keys.
DB_QUOTAS = 5
DB_RATE_LIMIT = 6
DB_DESIGN = 7
DB_ASSETS = 8
DB_PROJECTS = 9
DB_BATCH = 10
DB_IDEMPOTENCY = 11
DB_QUEUE = 12
DB_WEBHOOKS = 13
DB_OUTAGE = 14
DB_FUZZ = 15


def redis_url(db: int) -> str:
    """The test Redis URL with DB `db`; skips the test when no Redis answers there."""
    base = os.environ.get("QERS_TEST_REDIS_URL", DEFAULT_URL)
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
    client = redis.Redis.from_url(url, socket_connect_timeout=1.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {parts.netloc or base} ({exc}); set QERS_TEST_REDIS_URL")
    finally:
        client.close()
    return url


def flush(url: str) -> None:
    """Remove every key of the DB in `url` (only the test's own DB)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
