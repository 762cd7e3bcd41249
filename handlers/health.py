"""`getHealth` and `getApiHealth`: version, engine, storage and job backend."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import Response

from generated.models import ComponentHealth, Health, HealthStatus, JobBackend
from handlers.enginecheck import CachedEngineProbe, StorageProbe, probe_storage
from handlers.settings import Settings


class HealthService:
    """Answers both health operations from cached probes (health is polled often)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
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
        ok = engine.ok and storage.writable
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
            # The queue backend arrives with the distributed mode; embedded has none.
            queue=None,
            time=datetime.now(UTC),
        )

    async def _storage_probe(self) -> tuple[StorageProbe, float]:
        now = time.monotonic()
        if self._storage is None or now - self._storage[0] >= self._settings.engine_probe_ttl_s:
            started = time.perf_counter()
            probe = await asyncio.to_thread(probe_storage, self._settings.runs_dir)
            self._storage = (now, probe, round((time.perf_counter() - started) * 1000, 3))
        return self._storage[1], self._storage[2]
