"""`/v1` runs and scenarios, `/api/runs` and `/api/reality-profiles`: thin edges over RunService."""

from __future__ import annotations

from fastapi import Response

from generated.models import (
    RealityProfile,
    RealityProfileList,
    ReplayBundle,
    ReplayFormat,
    Run,
    RunCreate,
    RunList,
    RunMetrics,
    RunOrigin,
    RunStatus,
    Scenario,
    ScenarioList,
)
from handlers.errors import NotAcceptable
from handlers.runs.service import RunRequest, RunService, Submission

NPZ_MEDIA_TYPE = "application/octet-stream"


class RunsHandler:
    """Operations tagged `runs`."""

    def __init__(self, service: RunService) -> None:
        self._service = service

    async def create_run(
        self, *, body: RunCreate, idempotency_key: str | None, response: Response
    ) -> Run:
        """Create a run: finished on return (embedded, 201) or QUEUED (queued mode, 202)."""
        submitted = await self._service.submit(
            RunRequest.from_run_create(body),
            origin="v1",
            idempotency_key=idempotency_key,
            body=body.model_dump(mode="json"),
            status_code=202 if self._service.queued else 201,
            location="/v1/runs/{id}",
        )
        answer(response, submitted)
        return Run.model_validate(submitted.run)

    async def list_runs(
        self,
        *,
        limit: int,
        status: RunStatus | None,
        scenario: str | None,
        tag: str | None,
        profile: str | None,
        batch_id: str | None,
        cursor: str | None,
        response: Response,
    ) -> RunList:
        """List runs, newest first."""
        return _page(
            self._service,
            limit=limit,
            status=status,
            scenario=scenario,
            tag=tag,
            profile=profile,
            batch_id=batch_id,
            origin=None,
            cursor=cursor,
        )

    async def get_run(self, *, run_id: str, response: Response) -> Run:
        """Return one run."""
        return Run.model_validate(self._service.get(run_id))

    async def get_run_metrics(
        self, *, run_id: str, history: bool, response: Response
    ) -> RunMetrics:
        """Return the metrics of a run."""
        return RunMetrics.model_validate(self._service.metrics(run_id, history=history))

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
                self._service.replay_npz(run_id),
                media_type=NPZ_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="{run_id}-replay.npz"'},
            )
        return ReplayBundle.model_validate(self._service.replay(run_id, stride=stride))

    async def cancel_run(self, *, run_id: str, response: Response) -> Run:
        """Cancel a running run."""
        return Run.model_validate(await self._service.cancel(run_id))


class ScenariosHandler:
    """Operations tagged `scenarios`."""

    def __init__(self, service: RunService) -> None:
        self._service = service

    async def list_scenarios(self, *, response: Response) -> ScenarioList:
        """List the registered scenarios."""
        return ScenarioList(items=[Scenario.model_validate(s) for s in self._service.scenarios()])


class ProfilesHandler:
    """Operations tagged `profiles`."""

    def __init__(self, service: RunService) -> None:
        self._service = service

    async def list_reality_profiles(self, *, response: Response) -> RealityProfileList:
        """List the reality profiles."""
        items = [RealityProfile.model_validate(p) for p in self._service.profiles()]
        return RealityProfileList(items=items)


class DashboardHandler:
    """Operations tagged `dashboard`."""

    def __init__(self, service: RunService) -> None:
        self._service = service

    async def list_api_runs(
        self,
        *,
        limit: int,
        status: RunStatus | None,
        scenario: str | None,
        tag: str | None,
        profile: str | None,
        batch_id: str | None,
        origin: RunOrigin | None,
        cursor: str | None,
        response: Response,
    ) -> RunList:
        """List every run (v1 and sim), newest first."""
        return _page(
            self._service,
            limit=limit,
            status=status,
            scenario=scenario,
            tag=tag,
            profile=profile,
            batch_id=batch_id,
            origin=origin,
            cursor=cursor,
        )


def _page(
    service: RunService,
    *,
    status: RunStatus | None,
    origin: RunOrigin | None,
    **filters: str | int | None,
) -> RunList:
    """One page of runs for both list operations (enum filters passed by value)."""
    items, next_cursor = service.list(
        status=status.value if status else None,
        origin=origin.value if origin else None,
        **filters,
    )
    return RunList(items=[Run.model_validate(i) for i in items], next_cursor=next_cursor)


def answer(response: Response, submitted: Submission) -> None:
    """Status and headers of a create operation; replays say so in `Idempotent-Replayed`."""
    response.status_code = submitted.status_code
    response.headers.update(submitted.headers)
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
