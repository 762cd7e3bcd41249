"""`/api/sim`: simulation jobs. A job is a run with origin `sim`; its job id is its run id."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from generated.models import Job, Report, RunMetrics, SimRunRequest, SimStep
from handlers.runs.api import answer_submission
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService
from handlers.runs.submission import submit

# Fields a Job copies from its run document as they are (RunStatus values are JobStatus's).
_JOB_FIELDS = (
    "status",
    "scenario",
    "profile",
    "progress",
    "created_at",
    "queued_at",
    "started_at",
    "finished_at",
    "failure_code",
    "failure_reason",
    "metrics",
    "webhook",
)


class SimApi:
    """Implements `generated.protocols.SimHandler`: thin edges over RunService."""

    def __init__(self, runs: RunService) -> None:
        self._runs = runs

    async def start_sim_run(
        self, *, body: SimRunRequest, idempotency_key: str | None, response: Response
    ) -> Job:
        """Start a job: finished on return (embedded, 200) or QUEUED (queued mode, 202)."""
        submitted = await submit(
            self._runs,
            RunRequest.from_sim(body),
            origin="sim",
            idempotency_key=idempotency_key,
            body=body.model_dump(mode="json"),
            status_code=202 if self._runs.queued else 200,
            location="/api/sim/{id}/status",
        )
        answer_submission(response, submitted)
        return self._job(submitted.run)

    async def get_sim_job_status(self, *, job_id: str, response: Response) -> Job:
        """Return one job."""
        return self._job(self._runs.get(job_id))

    async def get_sim_job_metrics(
        self, *, job_id: str, history: bool, response: Response
    ) -> RunMetrics:
        """Return the metrics of a job."""
        return RunMetrics.model_validate(self._runs.artifacts.metrics(job_id, history=history))

    async def get_sim_job_report(self, *, job_id: str, response: Response) -> Report:
        """Return the report of a job."""
        return Report.model_validate(self._runs.artifacts.report(job_id))

    async def cancel_sim_job(self, *, job_id: str, response: Response) -> Job:
        """Cancel a running job."""
        return self._job(await self._runs.cancel(job_id))

    async def get_sim_step(self, *, run_id: str, step_index: int, response: Response) -> SimStep:
        """Return one recorded step of a run's replay."""
        return SimStep.model_validate(self._runs.artifacts.step(run_id, step_index))

    async def get_sim_run_metrics(
        self, *, run_id: str, history: bool, response: Response
    ) -> RunMetrics:
        """Return the metrics of a run."""
        return RunMetrics.model_validate(self._runs.artifacts.metrics(run_id, history=history))

    async def get_sim_run_report(self, *, run_id: str, response: Response) -> Report:
        """Return the report of a run."""
        return Report.model_validate(self._runs.artifacts.report(run_id))

    def _job(self, run: dict[str, Any]) -> Job:
        job = {field: run[field] for field in _JOB_FIELDS}
        # Only the queued backend enqueues: a run with `queued_at` went through RQ.
        backend = "rq" if run["queued_at"] is not None else "embedded"
        return Job.model_validate(
            {**job, "job_id": run["id"], "run_id": run["id"], "backend": backend}
        )
