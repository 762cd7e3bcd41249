"""`/api/runs` (tag `dashboard`): every run, v1 and sim alike, through RunService."""

from __future__ import annotations

from fastapi import Response

from generated.models import RunList, RunOrigin, RunStatus
from handlers.runs.api import run_page
from handlers.runs.service import RunService


class DashboardApi:
    """Implements `generated.protocols.DashboardHandler`."""

    def __init__(self, runs: RunService) -> None:
        self._runs = runs

    async def list_api_runs(
        self,
        *,
        limit: int,
        status: RunStatus | None,
        scenario: str | None,
        tag: str | None,
        profile: str | None,
        batch_id: str | None,
        project_id: str | None,
        origin: RunOrigin | None,
        cursor: str | None,
        response: Response,
    ) -> RunList:
        """List every run (v1 and sim), newest first."""
        return run_page(
            self._runs,
            limit=limit,
            status=status,
            scenario=scenario,
            tag=tag,
            profile=profile,
            batch_id=batch_id,
            project_id=project_id,
            origin=origin,
            cursor=cursor,
        )
