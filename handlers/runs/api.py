"""`/v1/runs` (tag `runs`): thin edges over RunService and the run artifacts."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from generated.models import (
    ReplayBundle,
    ReplayFormat,
    Run,
    RunCreate,
    RunList,
    RunMetrics,
    RunOrigin,
    RunStatus,
)
from handlers.errors import NotAcceptable
from handlers.http.responses import answer_created
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService
from handlers.runs.submission import Submission, submit

NPZ_MEDIA_TYPE = "application/octet-stream"


class RunsApi:
    """Implements `generated.protocols.RunsHandler`."""

    def __init__(self, runs: RunService) -> None:
        self._runs = runs

    async def create_run(
        self, *, body: RunCreate, idempotency_key: str | None, response: Response
    ) -> Run:
        """Create a run: finished on return (embedded, 201) or QUEUED (queued mode, 202)."""
        submitted = await submit(
            self._runs,
            RunRequest.from_run_create(body),
            origin="v1",
            idempotency_key=idempotency_key,
            body=body.model_dump(mode="json"),
            status_code=202 if self._runs.queued else 201,
            location="/v1/runs/{id}",
        )
        answer_submission(response, submitted)
        return Run.model_validate(submitted.run)

    async def list_runs(self, **query: Any) -> RunList:
        """List runs, newest first: the dashboard's listing (`list_api_runs`) without its
        `origin` filter; `generated.protocols.RunsHandler.list_runs` names the query."""
        return run_page(self._runs, origin=None, **query)

    async def get_run(self, *, run_id: str, response: Response) -> Run:
        """Return one run."""
        return Run.model_validate(self._runs.get(run_id))

    async def get_run_metrics(
        self, *, run_id: str, history: bool, response: Response
    ) -> RunMetrics:
        """Return the metrics of a run."""
        return RunMetrics.model_validate(self._runs.artifacts.metrics(run_id, history=history))

    async def get_run_replay(
        self,
        *,
        run_id: str,
        stride: int,
        format: ReplayFormat | None,
        media_type: str | None,
        response: Response,
    ) -> ReplayBundle | Response:
        """Return a run's replay: the bundle (every `stride`-th step) or the stored npz."""
        if format is None and media_type is None:
            raise NotAcceptable.offering(
                "A replay",
                ["application/json", f"{NPZ_MEDIA_TYPE} (npz)"],
                "Send one of them in Accept, or ?format=json|npz.",
            )
        if format is ReplayFormat.npz or (format is None and media_type == NPZ_MEDIA_TYPE):
            return Response(
                self._runs.artifacts.replay_npz(run_id),
                media_type=NPZ_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="{run_id}-replay.npz"'},
            )
        return ReplayBundle.model_validate(self._runs.artifacts.replay(run_id, stride=stride))

    async def cancel_run(self, *, run_id: str, response: Response) -> Run:
        """Cancel a running run."""
        return Run.model_validate(await self._runs.cancel(run_id))


def run_page(
    runs: RunService,
    *,
    limit: int,
    status: RunStatus | None,
    origin: RunOrigin | None,
    cursor: str | None,
    response: Response | None = None,
    **filters: str | None,
) -> RunList:
    """One page of runs, for `/v1/runs` and the dashboard's `/api/runs` (enums by value)."""
    items, next_cursor = runs.list(
        limit=limit,
        status=status.value if status else None,
        origin=origin.value if origin else None,
        cursor=cursor,
        **filters,
    )
    return RunList(items=[Run.model_validate(i) for i in items], next_cursor=next_cursor)


def answer_submission(response: Response, submitted: Submission) -> None:
    """Status and headers of a run's creation (also a sim job's)."""
    answer_created(
        response,
        status_code=submitted.status_code,
        headers=submitted.headers,
        replayed=submitted.replayed,
    )
