"""`getHealth` and `getApiHealth` (tag `health`): version, engine, storage and job backend."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Response

from generated.models import ComponentHealth, Health, HealthStatus, JobBackend
from handlers.health.service import HealthService
from handlers.settings import Settings


class HealthApi:
    """Implements `generated.protocols.HealthHandler`."""

    def __init__(self, settings: Settings, health: HealthService) -> None:
        self._settings = settings
        self._health = health

    async def get_health(self, *, response: Response) -> Health:
        """Report service health."""
        return await self._report()

    async def get_api_health(self, *, response: Response) -> Health:
        """Report service health (dashboard path)."""
        return await self._report()

    async def _report(self) -> Health:
        found = await self._health.check()
        engine, storage, queue = found.engine, found.storage, found.queue
        return Health(
            status=HealthStatus.ok if found.ok else HealthStatus.degraded,
            version=self._settings.version,
            job_backend=JobBackend(self._settings.job_backend),
            engine=ComponentHealth(
                ok=engine.ok, latency_ms=engine.duration_ms, detail=engine.detail
            ),
            storage=ComponentHealth(
                ok=storage.writable, latency_ms=found.storage_ms, detail=storage.detail
            ),
            queue=None
            if queue is None
            else ComponentHealth(ok=queue.ok, latency_ms=queue.latency_ms, detail=queue.detail),
            time=datetime.now(UTC),
        )
