"""The two idempotency key stores: SQLite (embedded mode) and Redis (queued mode).

Both implement `handlers.idempotency.keys.IdempotencyStore`; `store_for(settings)` picks one.
"""

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis
import structlog

from handlers.errors import ServiceUnavailable
from handlers.idempotency.keys import Claim, IdempotencyStore, StoredResponse, check_stored
from handlers.kit.sqlite import SharedDatabase
from handlers.settings import Settings

DEFAULT_LEASE_S = 3600.0
SQLITE_FILE = Path(".qers") / "idempotency.sqlite3"
REDIS_PREFIX = "qers:idem:"
REDIS_UNAVAILABLE = "Idempotency keys cannot be checked: Redis is unavailable; retry later."
SQLITE_UNAVAILABLE = "Idempotency keys cannot be checked: the key store is busy; retry later."
# Redis outages, as opposed to bugs (a wrong type, a bad script) that stay 500s.
_REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ReadOnlyError)

_log = structlog.get_logger("qers.idempotency")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    token TEXT,
    response TEXT,
    expires_at REAL NOT NULL,
    PRIMARY KEY (scope, operation, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys (expires_at);
"""
# A row is in flight while `response` is NULL (then `token` names the claim); it expires
# at claim time + lease, or completion time + ttl.


class SqliteIdempotencyStore:
    """Keys in a SQLite file (WAL), shared by the processes on one host.

    Each call opens its own connection (`handlers.kit.sqlite.SharedDatabase`), so the store
    survives fork and needs no lock; a claim is one `BEGIN IMMEDIATE` transaction, which
    serialises claimers across processes. `synchronous = FULL`, unlike the run index: a key
    lost to a power cut cannot be rebuilt, and a retry would then create a second resource.
    A file that is not a database is recreated: losing the keys beats failing POSTs.
    """

    def __init__(
        self,
        path: Path,
        *,
        ttl_s: float,
        lease_s: float = DEFAULT_LEASE_S,
        busy_timeout_s: float = 5.0,
        retry_after_s: int = 1,
    ) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self.lease_s = lease_s
        self._retry_after_s = retry_after_s
        self._db = SharedDatabase(
            path,
            schema=_SCHEMA,
            unavailable=self._unavailable,
            busy_timeout_s=busy_timeout_s,
            synchronous="FULL",
            recreate_unreadable=True,
        )

    def begin(self, claim: Claim) -> StoredResponse | None:
        """See `IdempotencyStore.begin`."""
        ids = (claim.scope, claim.operation, claim.key)
        with self._db.session(immediate=True) as db:
            now = time.time()
            # Purged lazily, so an expired row below is simply absent.
            db.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))
            row = db.execute(
                "SELECT fingerprint, response FROM idempotency_keys"
                " WHERE scope = ? AND operation = ? AND key = ?",
                ids,
            ).fetchone()
            if row is not None:
                return check_stored(claim, row[0], row[1])
            db.execute(
                "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (*ids, claim.fingerprint, claim.token, now + self.lease_s),
            )
        return None

    def complete(self, claim: Claim, response: StoredResponse) -> None:
        """See `IdempotencyStore.complete`."""
        with self._db.session(immediate=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO idempotency_keys VALUES (?, ?, ?, ?, NULL, ?, ?)",
                (
                    claim.scope,
                    claim.operation,
                    claim.key,
                    claim.fingerprint,
                    response.encode(),
                    time.time() + self.ttl_s,
                ),
            )

    def release(self, claim: Claim) -> None:
        """See `IdempotencyStore.release`."""
        with self._db.session(immediate=True) as db:
            db.execute(
                "DELETE FROM idempotency_keys"
                " WHERE scope = ? AND operation = ? AND key = ? AND token = ?",
                (claim.scope, claim.operation, claim.key, claim.token),
            )

    def _unavailable(self, exc: sqlite3.OperationalError) -> ServiceUnavailable:
        _log.warning("idempotency store unavailable", path=str(self.path), error=str(exc))
        return ServiceUnavailable(SQLITE_UNAVAILABLE, retry_after_s=self._retry_after_s)


# GET-or-claim in one step: two requests can never both see the key free.
_BEGIN_LUA = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
# Delete only our own claim, not a completed response or another request's takeover.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisIdempotencyStore:
    """Keys in Redis, one string each: a claim (`PX` lease) or a response (`PX` ttl)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_s: float,
        lease_s: float = DEFAULT_LEASE_S,
        retry_after_s: int = 5,
        prefix: str = REDIS_PREFIX,
    ) -> None:
        self.ttl_s = ttl_s
        self.lease_s = lease_s
        self._client = client
        self._retry_after_s = retry_after_s
        self._prefix = prefix
        self._begin = client.register_script(_BEGIN_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def begin(self, claim: Claim) -> StoredResponse | None:
        """See `IdempotencyStore.begin`."""
        pending = _encode({"fingerprint": claim.fingerprint, "token": claim.token})
        with self._reachable():
            current = self._begin(keys=[self._key(claim)], args=[pending, _ms(self.lease_s)])
        if current is None:
            return None
        stored = json.loads(current)
        return check_stored(claim, stored["fingerprint"], stored.get("response"))

    def complete(self, claim: Claim, response: StoredResponse) -> None:
        """See `IdempotencyStore.complete`."""
        done = _encode({"fingerprint": claim.fingerprint, "response": response.encode()})
        with self._reachable():
            self._client.set(self._key(claim), done, px=_ms(self.ttl_s))

    def release(self, claim: Claim) -> None:
        """See `IdempotencyStore.release`."""
        pending = _encode({"fingerprint": claim.fingerprint, "token": claim.token})
        with self._reachable():
            self._release(keys=[self._key(claim)], args=[pending])

    def _key(self, claim: Claim) -> str:
        # Quoted, so a ':' inside a part cannot make two different triples collide.
        parts = (claim.scope, claim.operation, claim.key)
        return self._prefix + ":".join(quote(part, safe="") for part in parts)

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except _REDIS_DOWN as exc:
            _log.warning("idempotency store unavailable", error=str(exc))
            raise ServiceUnavailable(REDIS_UNAVAILABLE, retry_after_s=self._retry_after_s) from exc


def _encode(value: Mapping[str, str]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def store_for(settings: Settings, redis_client: redis.Redis | None) -> IdempotencyStore:
    """Redis in queued mode (REDIS_URL set), else a SQLite file under RUNS_DIR."""
    if settings.redis_url:
        client = redis_client or redis.Redis.from_url(settings.redis_url)
        return RedisIdempotencyStore(
            client, ttl_s=settings.idempotency_ttl_s, retry_after_s=settings.redis_retry_after_s
        )
    return SqliteIdempotencyStore(settings.runs_dir / SQLITE_FILE, ttl_s=settings.idempotency_ttl_s)
