"""`/api/sim/batch` and `/api/sim/compare`: thin edges over BatchService and compare."""

from __future__ import annotations

from fastapi import Response

from generated.models import (
    BatchEvaluation,
    BatchReport,
    BatchRequest,
    CompareRequest,
    CompareResult,
)
from handlers.batch.compare import compare
from handlers.batch.service import BatchService
from handlers.http.responses import answer_submitted
from handlers.runs.service import RunService


class BatchApi:
    """Implements `generated.protocols.BatchHandler`."""

    def __init__(self, service: BatchService, runs: RunService) -> None:
        self._service = service
        self._runs = runs

    async def create_batch(
        self, *, body: BatchRequest, idempotency_key: str | None, response: Response
    ) -> BatchReport:
        """Run a batch: finished on return (embedded, 201) or queued (202)."""
        submitted = await self._service.submit(body, idempotency_key=idempotency_key)
        return BatchReport.model_validate(answer_submitted(response, submitted))

    async def get_batch(self, *, batch_id: str, response: Response) -> BatchReport:
        """Return a batch report."""
        return BatchReport.model_validate(self._service.get(batch_id))

    async def evaluate_batch(self, *, batch_id: str, response: Response) -> BatchEvaluation:
        """Evaluate a batch against its baseline profile."""
        return BatchEvaluation.model_validate(self._service.evaluate(batch_id))

    async def compare_runs(self, *, body: CompareRequest, response: Response) -> CompareResult:
        """Compare runs on one metric."""
        data = body.model_dump(mode="json")
        result = compare(self._runs, data["run_ids"], data["metric_key"])
        return CompareResult.model_validate(result)
