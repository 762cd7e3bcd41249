"""Health of this server: the engine, the run storage and (queued mode) Redis, probed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from handlers.errors import ServiceUnavailable
from handlers.health.probes import CachedEngineProbe, EngineProbe, StorageProbe, probe_storage
from handlers.queue.client import RunQueue
from handlers.settings import Settings


@dataclass(frozen=True, slots=True)
class QueueProbe:
    """Outcome of one Redis ping."""

    ok: bool
    latency_ms: float
    detail: str | None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What the probes found; `ok` when every component is."""

    engine: EngineProbe
    storage: StorageProbe
    storage_ms: float
    queue: QueueProbe | None

    @property
    def ok(self) -> bool:
        """Whether every component is healthy."""
        return self.engine.ok and self.storage.writable and (self.queue is None or self.queue.ok)


class HealthService:
    """Probes the components, engine and storage cached (health is polled often)."""

    def __init__(self, settings: Settings, queue: RunQueue | None = None) -> None:
        self._settings = settings
        self._queue = queue
        self._engine = CachedEngineProbe(
            timeout_s=settings.engine_probe_timeout_s, ttl_s=settings.engine_probe_ttl_s
        )
        self._storage: tuple[float, StorageProbe, float] | None = None

    async def check(self) -> HealthReport:
        """Probe every component (from cache where it is fresh)."""
        engine = await self._engine.get()
        storage, storage_ms = await self._storage_probe()
        queue = await self._queue_probe()
        return HealthReport(engine=engine, storage=storage, storage_ms=storage_ms, queue=queue)

    async def _queue_probe(self) -> QueueProbe | None:
        """Redis reachability in the rq backend (not cached: it is what an outage shows)."""
        if self._queue is None:
            return None
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self._queue.ping)
        except ServiceUnavailable as exc:
            detail: str | None = exc.detail
            ok = False
        else:
            detail, ok = None, True
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return QueueProbe(ok=ok, latency_ms=latency_ms, detail=detail)

    async def _storage_probe(self) -> tuple[StorageProbe, float]:
        now = time.monotonic()
        if self._storage is None or now - self._storage[0] >= self._settings.engine_probe_ttl_s:
            started = time.perf_counter()
            probe = await asyncio.to_thread(probe_storage, self._settings.runs_dir)
            self._storage = (now, probe, round((time.perf_counter() - started) * 1000, 3))
        return self._storage[1], self._storage[2]
