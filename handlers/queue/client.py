"""The queued mode's side of Redis: RQ jobs for runs, claims, stop flags and heartbeats.

With `REDIS_URL` set, the API enqueues each run as an RQ job (JSON serializer, job id =
run id) and `qers worker` processes execute them. Redis also carries what the run store
cannot: who got to a queued run first (a worker starting it or a client cancelling it),
stop requests for running runs, and each running run's heartbeat, from which a run whose
worker died is found and failed `WORKER_LOST`.

Every Redis failure surfaces as `ServiceUnavailable` (503 with `Retry-After`); redis-py
reconnects on the next call, so the service recovers by itself when Redis is back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import redis
from rq import Queue
from rq.job import Dependency
from rq.serializers import JSONSerializer

from handlers.errors import ServiceUnavailable
from handlers.kit.names import RUN_JOB
from handlers.settings import Settings

ACTIVE_KEY = "qers:active"  # ids of runs a worker is executing
RECONCILE_LOCK = "qers:reconcile"
CLAIM_TTL_S = 7 * 86400  # longer than any run waits in the queue
STOP_TTL_S = 86400
RESULT_TTL_S = 86400
FAILURE_TTL_S = 7 * 86400
# RQ's own job timeout is a backstop behind the executor's wall-clock kill.
JOB_TIMEOUT_MARGIN_S = 120


def connect(url: str) -> redis.Redis:
    """A Redis client that fails fast when Redis is down and reconnects when it is back."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=2.0, socket_timeout=5.0, health_check_interval=30
    )


def _key(run_id: str, what: str) -> str:
    return f"qers:run:{run_id}:{what}"


class RunQueue:
    """Runs as RQ jobs, plus the Redis keys that coordinate API and workers."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.redis = client
        self._settings = settings
        self.queue = Queue(settings.queue_name, connection=client, serializer=JSONSerializer)

    @contextmanager
    def available(self) -> Iterator[None]:
        """Turn a Redis failure into a 503 problem with `Retry-After`."""
        try:
            yield
        except redis.RedisError as exc:
            raise ServiceUnavailable(
                f"The job queue (Redis) is unavailable: {type(exc).__name__}. Retry later.",
                retry_after_s=self._settings.redis_retry_after_s,
            ) from exc

    def ping(self) -> None:
        """Raise ServiceUnavailable unless Redis answers."""
        with self.available():
            self.redis.ping()

    def enqueue(
        self,
        run_id: str,
        spec: Mapping[str, Any],
        *,
        max_duration_s: float,
        after: str | None = None,
    ) -> None:
        """Queue the run's job; with `after`, only once that run's job has ended (any way)."""
        depends_on = None if after is None else Dependency(jobs=[after], allow_failure=True)
        with self.available():
            self.queue.enqueue_call(
                func=RUN_JOB,
                args=(run_id, dict(spec), max_duration_s),
                job_id=run_id,
                timeout=int(max_duration_s) + JOB_TIMEOUT_MARGIN_S,
                # Kept a while after the run, so a job that depends on it sees it ended.
                result_ttl=RESULT_TTL_S,
                failure_ttl=FAILURE_TTL_S,
                depends_on=depends_on,
                description=f"QERS run {run_id}",
            )

    def claim(self, run_id: str, holder: str) -> str:
        """Who the run belongs to: `holder` if it claimed it first, else the earlier holder.

        A worker claims "started" before it runs a job, a client "cancelled" before it
        cancels a queued run; whichever comes first decides.
        """
        key = _key(run_id, "claim")
        with self.available():
            pipe = self.redis.pipeline(transaction=True)  # one round trip
            pipe.set(key, holder, nx=True, ex=CLAIM_TTL_S)
            pipe.get(key)
            _, value = pipe.execute()
        return _text(value) if value is not None else holder

    def request_stop(self, run_id: str) -> None:
        """Ask the worker executing the run to stop it."""
        with self.available():
            self.redis.set(_key(run_id, "stop"), b"1", ex=STOP_TTL_S)

    def stop_requested(self, run_id: str) -> bool:
        """Whether a client asked to stop the run."""
        with self.available():
            return bool(self.redis.exists(_key(run_id, "stop")))

    def beat(self, run_id: str, worker: str) -> None:
        """The run is alive on `worker` for the next `worker_lost_after_s` seconds."""
        ttl_ms = int(self._settings.worker_lost_after_s * 1000)
        with self.available():
            pipe = self.redis.pipeline(transaction=True)
            pipe.set(_key(run_id, "heartbeat"), worker.encode(), px=ttl_ms)
            pipe.sadd(ACTIVE_KEY, run_id)
            pipe.execute()

    def alive(self, run_id: str) -> bool:
        """Whether the run's worker has beaten within `worker_lost_after_s`."""
        with self.available():
            return bool(self.redis.exists(_key(run_id, "heartbeat")))

    def forget(self, run_id: str) -> None:
        """The run has ended: drop its heartbeat, stop flag and active mark."""
        with self.available():
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(_key(run_id, "heartbeat"), _key(run_id, "stop"))
            pipe.srem(ACTIVE_KEY, run_id)
            pipe.execute()

    def lost(self) -> list[str]:
        """Runs marked active whose heartbeat has expired."""
        with self.available():
            members = sorted(_text(m) for m in self.redis.smembers(ACTIVE_KEY))
            if not members:
                return []
            pipe = self.redis.pipeline(transaction=False)
            for run_id in members:
                pipe.exists(_key(run_id, "heartbeat"))
            alive = pipe.execute()
        return [run_id for run_id, beating in zip(members, alive, strict=True) if not beating]

    def reconcile_turn(self) -> bool:
        """True for one caller per reconcile interval (API processes and workers share it)."""
        ttl_ms = max(1, int(self._settings.reconcile_interval_s * 1000 * 0.9))
        with self.available():
            return bool(self.redis.set(RECONCILE_LOCK, b"1", nx=True, px=ttl_ms))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
