"""`getHealth` and `getApiHealth`: version, engine, storage and job backend."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import Response

from generated.models import ComponentHealth, Health, HealthStatus, JobBackend
from handlers.errors import ServiceUnavailable
from handlers.health.probes import CachedEngineProbe, StorageProbe, probe_storage
from handlers.queue.client import RunQueue
from handlers.settings import Settings


class HealthService:
    """Answers both health operations from cached probes (health is polled often)."""

    def __init__(self, settings: Settings, queue: RunQueue | None = None) -> None:
        self._settings = settings
        self._queue = queue
        self._engine = CachedEngineProbe(
            timeout_s=settings.engine_probe_timeout_s, ttl_s=settings.engine_probe_ttl_s
        )
        self._storage: tuple[float, StorageProbe, float] | None = None

    async def get_health(self, *, response: Response) -> Health:
        """Report service health."""
        return await self._health()

    async def get_api_health(self, *, response: Response) -> Health:
        """Report service health (dashboard path)."""
        return await self._health()

    async def _health(self) -> Health:
        engine = await self._engine.get()
        storage, storage_ms = await self._storage_probe()
        queue = await self._queue_probe()
        ok = engine.ok and storage.writable and (queue is None or queue.ok)
        return Health(
            status=HealthStatus.ok if ok else HealthStatus.degraded,
            version=self._settings.version,
            job_backend=JobBackend(self._settings.job_backend),
            engine=ComponentHealth(
                ok=engine.ok, latency_ms=engine.duration_ms, detail=engine.detail
            ),
            storage=ComponentHealth(
                ok=storage.writable, latency_ms=storage_ms, detail=storage.detail
            ),
            queue=queue,
            time=datetime.now(UTC),
        )

    async def _queue_probe(self) -> ComponentHealth | None:
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
        return ComponentHealth(ok=ok, latency_ms=latency_ms, detail=detail)

    async def _storage_probe(self) -> tuple[StorageProbe, float]:
        now = time.monotonic()
        if self._storage is None or now - self._storage[0] >= self._settings.engine_probe_ttl_s:
            started = time.perf_counter()
            probe = await asyncio.to_thread(probe_storage, self._settings.runs_dir)
            self._storage = (now, probe, round((time.perf_counter() - started) * 1000, 3))
        return self._storage[1], self._storage[2]
