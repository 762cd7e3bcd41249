"""A child target for bench.asset_import: `simengine.api.import_asset`, timed from inside.

It reports how long the child took to import the import pipeline's modules (trimesh and the
rest, which the fork server does not preload) and each of the pipeline's stages (timed from
the `progress` call after each one), next to the import's own report.
"""

from __future__ import annotations

import importlib
import itertools
import time
from collections.abc import Callable
from typing import Any

from simengine import api as engine_api

PIPELINE_MODULE = "simengine.imports.pipeline"


def timed_import(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """`engine_api.import_asset(job)`, with {"modules_ms", "stages_ms", "report"}."""
    started = time.perf_counter()
    stages: tuple[str, ...] = importlib.import_module(PIPELINE_MODULE).STAGES
    marks = [time.perf_counter()]

    def mark(done: int, total: int) -> None:
        marks.append(time.perf_counter())
        if progress is not None:
            progress(done, total)

    report = engine_api.import_asset(job, progress=mark, should_stop=should_stop)
    spans = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
    return {
        "modules_ms": (marks[0] - started) * 1000,
        "stages_ms": dict(zip(stages, spans, strict=True)),
        "report": report,
    }
