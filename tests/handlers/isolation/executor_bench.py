"""Per-run process overhead of the executor: `python -m tests.handlers.isolation.executor_bench`."""

import json
import statistics
import time

from generated.models.RunStatus_schema import RunStatus
from handlers.isolation.executor import Executor, ExecutorConfig

TRIVIAL = "tests.handlers.isolation.executor_targets:trivial"


def per_run_ms(*, runs: int = 50) -> list[float]:
    """Wall time of `runs` trivial runs (fork, IPC, exit, reap), after one warm-up run."""
    executor = Executor(ExecutorConfig(target=TRIVIAL))
    executor.warm_up()
    executor.execute({}, max_duration_s=10)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = executor.execute({}, max_duration_s=10)
        timings.append((time.perf_counter() - started) * 1000.0)
        if result.status != RunStatus.SUCCEEDED:
            raise RuntimeError(f"trivial run failed: {result.failure_reason}")
    return timings


def main() -> None:
    """Print the median, p95 and max per-run overhead as one JSON line."""
    timings = sorted(per_run_ms(runs=100))
    print(
        json.dumps(
            {
                "executor_overhead_ms_median": round(statistics.median(timings), 2),
                "executor_overhead_ms_p95": round(timings[94], 2),
                "executor_overhead_ms_max": round(timings[-1], 2),
                "runs": len(timings),
                "budget_ms": 50,
            }
        )
    )


if __name__ == "__main__":
    main()
