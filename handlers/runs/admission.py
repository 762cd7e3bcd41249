"""What a caller may start now: steps per request, unfinished work per principal, and how
much synchronous work this server holds (OWASP API4, unrestricted resource consumption).

- `QERS_MAX_STEPS_PER_REQUEST`: a run's steps, or a batch's children x steps → 422 naming
  the field and the limit; nothing is created.
- `QERS_MAX_RUNS_PER_PRINCIPAL`: runs, sim jobs and batches one principal (auth on) has
  not seen finish → 429 with `Retry-After`. Counted in this process (embedded: the work
  runs inside the request: what it holds now), or in Redis (queued: the work outlives the
  request, and every API process shares the count; ended work is dropped when counted).
- `QERS_MAX_PENDING_RUNS` (embedded only): synchronous runs and batches this process holds
  at once; one more is a 503 with `Retry-After` instead of an unbounded pile-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis

from handlers.errors import QuotaExceeded, ServiceUnavailable, ValidationFailed
from handlers.kit import caller
from handlers.settings import Settings

RETRY_AFTER_S = 1  # synchronous work on this server ends within seconds, as a rule
QUOTA_RETRY_AFTER_S = 5
_LEDGER_TTL_S = 7 * 86400  # a principal's Redis set expires when it has not created for long


class RedisLedger:
    """Unfinished work per principal in Redis sets (`<prefix>:quota:<principal>`): ids
    added when made, the finished ones dropped when counted."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, principal: str) -> str:
        return f"{self._prefix}:quota:{principal}"

    def unfinished(self, principal: str, finished: Callable[[str], bool]) -> int:
        """How many of the principal's ids are not finished."""
        key = self._key(principal)
        members = [m.decode() if isinstance(m, bytes) else m for m in self._redis.smembers(key)]
        done = [work_id for work_id in members if finished(work_id)]
        if done:
            self._redis.srem(key, *done)
        return len(members) - len(done)

    def add(self, principal: str, work_id: str) -> None:
        """Count `work_id` against `principal` until it is finished."""
        key = self._key(principal)
        self._redis.sadd(key, work_id)
        self._redis.expire(key, _LEDGER_TTL_S)


class Admission:
    """The three limits of one server process (see the module docstring)."""

    def __init__(self, settings: Settings, *, ledger: RedisLedger | None) -> None:
        """`ledger`: the queued mode's; None: embedded (work is held inside requests)."""
        self._max_steps = settings.max_steps_per_request
        self._max_unfinished = settings.max_runs_per_principal
        self._max_pending = settings.max_pending_runs
        self._ledger = ledger
        self._pending = 0
        self._held: Counter[str] = Counter()

    def check_steps(self, steps: int, *, pointer: str, what: str = "steps") -> None:
        """422 at `pointer` when `steps` (a run's, or a batch's total) exceeds the limit."""
        if self._max_steps is not None and steps > self._max_steps:
            reason = (
                f"{what} come to {steps} steps; this server takes at most "
                f"{self._max_steps} steps per request (QERS_MAX_STEPS_PER_REQUEST)"
            )
            raise ValidationFailed.at(pointer, reason)

    def check_quota(self, finished: Callable[[str], bool]) -> None:
        """Queued mode: 429 when the caller has its quota of unfinished runs and batches."""
        principal = caller.current().principal_id
        if principal is None or self._max_unfinished is None or self._ledger is None:
            return
        self._refuse_over_quota(self._ledger.unfinished(principal, finished))

    def record(self, work_id: str) -> None:
        """Queued mode: count `work_id` (a run or batch just queued) against the caller."""
        principal = caller.current().principal_id
        if principal is not None and self._max_unfinished is not None and self._ledger:
            self._ledger.add(principal, work_id)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Embedded mode: hold one place of synchronous work (and one of the caller's
        quota) for the block; 503 when the server is full, 429 when the caller is."""
        principal = caller.current().principal_id
        if principal is not None and self._max_unfinished is not None:
            self._refuse_over_quota(self._held[principal])
        if self._pending >= self._max_pending:
            raise ServiceUnavailable(
                f"This server is running {self._pending} synchronous runs or batches, its "
                "limit (QERS_MAX_PENDING_RUNS); nothing was created. Retry shortly.",
                retry_after_s=RETRY_AFTER_S,
            )
        self._pending += 1
        if principal is not None:
            self._held[principal] += 1
        try:
            yield
        finally:
            self._pending -= 1
            if principal is not None:
                self._held[principal] -= 1
                if not self._held[principal]:
                    del self._held[principal]

    def _refuse_over_quota(self, unfinished: int) -> None:
        assert self._max_unfinished is not None
        if unfinished >= self._max_unfinished:
            raise QuotaExceeded(
                f"These credentials have {unfinished} unfinished runs or batches, the most "
                f"this server allows at once ({self._max_unfinished}); wait for one to end.",
                retry_after_s=QUOTA_RETRY_AFTER_S,
            )
