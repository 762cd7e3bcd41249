"""`/api/benchmarks`: the stored sim-to-real gap benchmark reports (`qers bench gaps`)."""

from __future__ import annotations

from fastapi import Response

from generated.models import BenchmarkReport
from handlers.benchmarks.service import latest
from handlers.errors import NotFoundError
from handlers.settings import Settings

NO_BENCHMARK = "No benchmark has been run yet; run `qers bench gaps` to produce one."


class BenchmarksApi:
    """Implements `generated.protocols.BenchmarksHandler`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def get_latest_benchmark(self, *, response: Response) -> BenchmarkReport:
        """Return the newest benchmark report."""
        report = latest(self._settings)
        if report is None:
            raise NotFoundError(NO_BENCHMARK)
        return BenchmarkReport.model_validate(report)
