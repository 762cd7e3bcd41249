"""Time to evaluate a batch of 100 child runs (`GET /api/sim/batch/{id}/evaluate`).

The batch (drop_test, 4 profiles x 25 DR episodes, 20 steps each) is created once; then
the evaluation is timed against reading the children's metrics alone (listing the 100
runs from the index, which carries each run's metrics summary). The evaluation should be
dominated by that read, not by the statistics. Targets: median evaluation <= 250 ms and
<= 2 x the read.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import result
from generated.models import BatchRequest
from handlers.batch.service import BatchService
from handlers.isolation.executor import Executor
from handlers.runs.service import RunService
from handlers.settings import Settings

TARGET_MS = 250.0
TARGET_RATIO = 2.0
REPEATS = 30
BODY = {
    "scenario": "drop_test",
    "profiles": ["default", "pseudo_reality_A", "heavy_payload", "slippery_warehouse"],
    "dr_episodes_per_profile": 25,
    "steps": 20,
    "seed": 5,
}


def median_ms(action: Callable[[], Any]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="qers-bench-eval-") as runs_dir:
        settings = Settings(runs_dir=Path(runs_dir), redis_url=None)
        batches = BatchService(RunService(settings=settings, executor=Executor()), settings)
        report = asyncio.run(batches.create(BatchRequest.model_validate(BODY)))
        assert report["counts"]["succeeded"] == 100, report["counts"]
        record = batches.store.get(report["id"])
        read_ms = median_ms(lambda: batches.children(record))
        evaluate_ms = median_ms(lambda: batches.evaluate(report["id"]))
        report_ms = median_ms(lambda: batches.get(report["id"]))
    ratio = evaluate_ms / read_ms
    print(f"evaluate a batch of 100 children ({len(BODY['profiles'])} profiles x 25 episodes)")
    print(f"  read the 100 children's metrics: {read_ms:.1f} ms (median of {REPEATS})")
    print(f"  evaluate: {evaluate_ms:.1f} ms ({ratio:.2f} x the read)")
    print(f"  batch report (statistics of every metric): {report_ms:.1f} ms")
    ok = evaluate_ms <= TARGET_MS and ratio <= TARGET_RATIO
    return result(
        "evaluate batch of 100 ms (median)",
        f"{evaluate_ms:.1f} ({ratio:.2f}x reading metrics)",
        f"<= {TARGET_MS:g} ms, <= {TARGET_RATIO:g}x reading",
        ok,
    )


if __name__ == "__main__":
    sys.exit(main())
