"""Per-run process overhead of the executor (fork, IPC, limits, exit, reap): <= 50 ms.

Wraps tests/handlers/isolation/executor_bench.py (also used by the executor tests): trivial runs,
no physics, so the figure is the isolation cost alone.
"""

from __future__ import annotations

import statistics
import sys

from bench.report import result
from tests.handlers.isolation.executor_bench import per_run_ms

TARGET_MS = 50.0
RUNS = 100


def main() -> int:
    timings = sorted(per_run_ms(runs=RUNS))
    median = statistics.median(timings)
    print(f"executor overhead: {RUNS} trivial runs in fork-server children")
    print(
        f"  median {median:.2f} ms, p95 {timings[int(RUNS * 0.95) - 1]:.2f} ms,"
        f" max {timings[-1]:.2f} ms"
    )
    return result(
        "executor overhead ms (median)", f"{median:.2f}", f"<= {TARGET_MS:g}", median <= TARGET_MS
    )


if __name__ == "__main__":
    sys.exit(main())
