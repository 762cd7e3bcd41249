"""Requests counted per key in fixed windows (the `limits` package), in memory or in Redis.

A fixed window starts at a key's first request and lasts the rate's period. Its state is one
counter with an expiry, so a Redis-backed window costs one small key per caller and three
commands per request, and `remaining` and the reset time are exact. (A moving window keeps
every request's timestamp: 600 entries per caller at 600/minute.) The price is that a
caller may spend up to two windows' worth around a window's end; size the rate for that.

When the storage fails (Redis down), the limiter lets requests through for `cooldown_s`
and logs one warning: an outage of the counter must not take down the API it protects.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS_PREFIX = "qers:ratelimit"
# The limiter sits on every request: a Redis that does not answer should cost little.
REDIS_TIMEOUT_S = 1.0
IPV6_PREFIX = 64  # one host's share of IPv6 space: addresses within it are one caller

_log = structlog.get_logger("qers.ratelimit")


@dataclass(frozen=True)
class Quota:
    """One key's window after a request: whether it passes, what is left, when it resets."""

    allowed: bool
    limit: int
    remaining: int
    reset_after_s: int  # whole seconds until the window ends, at least 1


class RequestLimiter:
    """`rate` requests per key and window; open (None from `hit`) while the storage fails."""

    def __init__(
        self,
        rate: RateLimitItem,
        storage: Storage,
        *,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self._windows = FixedWindowRateLimiter(storage)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._open_until = -math.inf

    def describe(self) -> str:
        """The rate in words, e.g. `600 per minute` or `100 per 10 seconds`."""
        unit = self.rate.GRANULARITY.name
        if self.rate.multiples == 1:
            return f"{self.rate.amount} per {unit}"
        return f"{self.rate.amount} per {self.rate.multiples} {unit}s"

    def hit(self, key: str) -> Quota | None:
        """Count one request against `key`; None when the storage is down (let it pass)."""
        return self._guarded(key, count=True)

    def peek(self, key: str) -> Quota | None:
        """`key`'s window without counting; `allowed` says whether a request would pass."""
        return self._guarded(key, count=False)

    def _guarded(self, key: str, *, count: bool) -> Quota | None:
        if self._clock() < self._open_until:
            return None
        try:
            return self._quota(key, count=count)
        except StorageError as exc:
            self._open_until = self._clock() + self._cooldown_s
            _log.warning(
                "rate_limit_storage_down",
                detail=f"requests pass unlimited for {self._cooldown_s:g} s",
                error=str(exc.storage_error),
            )
            return None

    def _quota(self, key: str, *, count: bool) -> Quota:
        passed = self._windows.hit(self.rate, key) if count else None
        stats = self._windows.get_window_stats(self.rate, key)
        allowed = stats.remaining > 0 if passed is None else passed
        reset_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        return Quota(allowed, self.rate.amount, stats.remaining, reset_after_s)


def limiter_for(rate: str, *, redis_url: str | None, cooldown_s: float) -> RequestLimiter:
    """A limiter of `rate` (`limits` notation) counting in `storage_for(redis_url)`."""
    return RequestLimiter(parse(rate), storage_for(redis_url), cooldown_s=cooldown_s)


def storage_for(redis_url: str | None) -> Storage:
    """Counts in Redis when `redis_url` is set (shared by every API process), else here."""
    if not redis_url:
        return MemoryStorage()
    pool = redis.ConnectionPool.from_url(
        redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        retry=Retry(NoBackoff(), retries=0),  # a failed count lets the request pass
    )
    return RedisStorage(
        redis_url, connection_pool=pool, key_prefix=REDIS_PREFIX, wrap_exceptions=True
    )


def address_key(host: str | None) -> str:
    """The bucket of a client address; an IPv6 address counts as its /64 network."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client's name, a unix socket)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)
