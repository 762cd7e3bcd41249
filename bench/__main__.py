"""`make bench`: every bench in sequence, then one PASS/MISS line per target.

Exit status 0 only if every target is met (a miss is a non-zero exit, printed clearly).
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench import SERVER_ENVIRON
from bench.report import LINE
from bench.servers import ROOT

BENCHES = (
    "bench.engine_step",
    "bench.e2e_run",
    "bench.runstore_listing",
    "bench.replay_size",
    "bench.executor_overhead",
    "bench.api_overhead",
    "bench.load",
    "bench.queue_overhead",
    "bench.batch_parallel",
    "bench.batch_evaluate",
    "bench.episodes",
    "bench.asset_import",
    "bench.design_loop",
    "bench.web_paint",
)


def main() -> int:
    started = time.perf_counter()
    summary: list[tuple[str, int, float, list[str]]] = []
    for module in BENCHES:
        print(f"\n== {module}", flush=True)
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=SERVER_ENVIRON,  # each bench sets numpy up itself (bench/__init__)
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in proc.stdout.splitlines() if "pybullet build time" not in line]
        print("\n".join(lines), flush=True)
        noise = "pybullet build time"  # printed by pybullet's C module on import
        errors = "\n".join(line for line in proc.stderr.splitlines() if noise not in line)
        if errors.strip():
            print(errors, file=sys.stderr, flush=True)
        results = LINE.findall(proc.stdout)
        summary.append((module, proc.returncode, time.perf_counter() - began, results))
    print(f"\n== summary ({time.perf_counter() - started:.0f} s)")
    ok = True
    for module, code, seconds, results in summary:
        ok = ok and code == 0
        for line in results or [f"{module}: no result (exit {code}) MISS"]:
            print(f"  {line:78}  [{seconds:4.0f} s]")
        if code not in (0, 1):
            print(f"  {module} crashed (exit {code})")
    print("all targets met" if ok else "TARGETS MISSED: make bench exits 1")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
