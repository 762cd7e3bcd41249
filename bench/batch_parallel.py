"""A batch of 8 runs (embedded, 2 at once) vs the same 8 runs one after another.

The 8 children are urdf_rollout (r2d2), 2 profiles x 4 DR episodes, long enough (~0.5 s
each) that the figure is about running in parallel, not about process start-up. The
serial side runs the very same RunRequests through RunService.create one by one. Rounds
alternate; the figure is the median speed-up. Target: >= 1.7 x on an idle 2-core machine,
with every trajectory hash identical to the serial run's.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import result
from generated.models import BatchRequest
from handlers.batch.service import BatchService
from handlers.isolation import forkserver
from handlers.isolation.executor import Executor
from handlers.runs.service import RunService
from handlers.settings import Settings

TARGET = 1.7
ROUNDS = int(os.environ.get("BENCH_BATCH_ROUNDS", "3"))
BODY = {
    "scenario": "urdf_rollout",
    "profiles": ["default", "pseudo_reality_A"],
    "dr_episodes_per_profile": 4,
    "steps": 2400,
    "seed": 11,
    "max_concurrency": 2,
}
Hashes = list[tuple[str, int, str]]


async def batch_round(batches: BatchService, runs: RunService) -> tuple[float, Hashes]:
    started = time.perf_counter()
    report = await batches.create(BatchRequest.model_validate(BODY))
    elapsed = time.perf_counter() - started
    assert report["status"] == "SUCCEEDED", report["children"]
    hashes = [
        (c["profile"], c["episode"], runs.get(c["run_id"])["trajectory_sha256"])
        for c in report["children"]
    ]
    return elapsed, hashes


async def serial_round(runs: RunService, settings: Settings) -> tuple[float, Hashes]:
    from handlers.batch.plan import plan

    children = plan(BatchRequest.model_validate(BODY), settings, concurrency=1).children
    started = time.perf_counter()
    finished = [await runs.create(child, origin="cli") for child in children]
    elapsed = time.perf_counter() - started
    hashes = []
    for child, run in zip(children, finished, strict=True):
        assert run["status"] == "SUCCEEDED", run["failure_reason"]
        assert child.episode is not None
        assert child.profile is not None
        hashes.append((child.profile, child.episode, run["trajectory_sha256"]))
    return elapsed, hashes


async def measure(runs_dir: Path) -> tuple[list[float], list[float], bool]:
    settings = Settings(runs_dir=runs_dir, redis_url=None)
    runs = RunService(settings=settings, executor=Executor())
    batches = BatchService(runs, settings)
    await asyncio.to_thread(forkserver.ensure_running)
    await serial_round(runs, settings)  # warm-up: fork server, file caches
    serial, parallel, identical = [], [], True
    for _ in range(ROUNDS):
        s_time, s_hashes = await serial_round(runs, settings)
        b_time, b_hashes = await batch_round(batches, runs)
        serial.append(s_time)
        parallel.append(b_time)
        identical = identical and s_hashes == b_hashes
    return serial, parallel, identical


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="qers-bench-batch-") as runs_dir:
        serial, parallel, identical = asyncio.run(measure(Path(runs_dir)))
    speedups = [s / p for s, p in zip(serial, parallel, strict=True)]
    speedup = statistics.median(speedups)
    print(f"batch of 8 (urdf_rollout r2d2, {BODY['steps']} steps, 2 at once) vs serial")
    print(f"  serial s:   {', '.join(f'{t:.2f}' for t in serial)}")
    print(f"  batch s:    {', '.join(f'{t:.2f}' for t in parallel)}")
    print(f"  speed-ups:  {', '.join(f'{x:.2f}' for x in speedups)} (cores: {os.cpu_count()})")
    print(f"  trajectory hashes identical to serial: {identical}")
    ok = speedup >= TARGET and identical
    figure = f"{speedup:.2f}x, hashes {'identical' if identical else 'DIFFERENT'}"
    return result("batch of 8 vs serial speed-up", figure, f">= {TARGET:g}x, identical", ok)


if __name__ == "__main__":
    sys.exit(main())
