"""The limiter on its own: counting, keys, a real Redis shared by two limiters, Redis down."""

import io
import json
import socket
from collections.abc import Iterator

import pytest
import redis
from limits import parse

from handlers.kit.ratelimit import (
    REDIS_PREFIX,
    RequestLimiter,
    address_key,
    limiter_for,
    storage_for,
)
from tests.redisutil import DB_RATE_LIMIT, flush, redis_url


def _warnings(stream: io.StringIO) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line.get("event") == "rate_limit_storage_down"]


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the probe is closed


@pytest.fixture
def shared_redis() -> Iterator[str]:
    url = redis_url(DB_RATE_LIMIT)
    flush(url)
    yield url
    flush(url)


def test_a_window_counts_down_then_refuses() -> None:
    limiter = limiter_for("3/hour", redis_url=None, cooldown_s=5)
    quotas = [limiter.hit("principal:key:a") for _ in range(4)]
    assert [(q.allowed, q.remaining) for q in quotas if q] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    assert all(q and q.limit == 3 and 1 <= q.reset_after_s <= 3600 for q in quotas)


def test_peek_does_not_count() -> None:
    limiter = limiter_for("2/hour", redis_url=None, cooldown_s=5)
    fresh = limiter.peek("address:203.0.113.9")
    assert fresh is not None
    assert (fresh.allowed, fresh.remaining) == (True, 2)
    limiter.hit("address:203.0.113.9")
    limiter.hit("address:203.0.113.9")
    spent = limiter.peek("address:203.0.113.9")
    assert spent is not None
    assert (spent.allowed, spent.remaining) == (False, 0)


def test_keys_count_apart() -> None:
    limiter = limiter_for("1/hour", redis_url=None, cooldown_s=5)
    assert [q and q.allowed for q in (limiter.hit("a"), limiter.hit("a"))] == [True, False]
    other = limiter.hit("b")
    assert other is not None
    assert other.allowed


@pytest.mark.parametrize(
    ("rate", "words"),
    [("600/minute", "600 per minute"), ("100/10 seconds", "100 per 10 seconds")],
)
def test_the_rate_in_words(rate: str, words: str) -> None:
    assert limiter_for(rate, redis_url=None, cooldown_s=5).describe() == words


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:0:1::5", "2001:db8:0:1::/64"),
        ("2001:db8:0:1:ffff::9", "2001:db8:0:1::/64"),  # same /64: the same caller
        ("::ffff:198.51.100.2", "198.51.100.2"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_address_keys(host: str | None, key: str) -> None:
    assert address_key(host) == key


def test_two_limiters_on_one_redis_share_the_count(shared_redis: str) -> None:
    first = limiter_for("3/hour", redis_url=shared_redis, cooldown_s=5)
    second = limiter_for("3/hour", redis_url=shared_redis, cooldown_s=5)
    quotas = [limiter.hit("principal:key:a") for limiter in (first, second, first, second)]
    assert [(q.allowed, q.remaining) for q in quotas if q] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    client = redis.Redis.from_url(shared_redis)
    try:
        [window] = client.keys("*")  # one counter per caller and window
        assert window.decode().startswith(f"{REDIS_PREFIX}:")
        assert 0 < client.ttl(window) <= 3600  # the window ends with its key
    finally:
        client.close()


def test_redis_down_lets_requests_pass_and_warns_once_per_cooldown(
    log_stream: io.StringIO,
) -> None:
    now = [100.0]
    limiter = RequestLimiter(
        parse("1/hour"), storage_for(_closed_port_url()), cooldown_s=5, clock=lambda: now[0]
    )
    assert limiter.hit("principal:key:a") is None
    assert limiter.peek("auth-failures:203.0.113.7") is None
    now[0] += 4.9
    assert limiter.hit("principal:key:a") is None
    assert len(_warnings(log_stream)) == 1  # within the cooldown Redis is not asked again
    now[0] += 0.2
    assert limiter.hit("principal:key:a") is None
    warnings = _warnings(log_stream)
    assert len(warnings) == 2
    assert warnings[0]["level"] == "warning"
    assert "Connection refused" in warnings[0]["error"]
