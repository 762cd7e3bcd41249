"""API overhead: requests/s of GET /v1/health on QERS vs a bare FastAPI app.

Both servers run side by side with the same uvicorn settings; a separate load process
hits them in interleaved rounds, so machine noise affects both alike. Target: >= 0.7.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

from bench.report import result
from bench.servers import ROOT, uvicorn_server

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
TARGET = 0.7


def _load(port: int) -> float:
    cmd = [sys.executable, "-m", "bench.loadgen", "127.0.0.1", str(port), "/v1/health"]
    cmd += [str(SECONDS), str(CONNECTIONS)]
    # The load process runs on the other core than the servers when there are two.
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "1", *cmd]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} non-200 answers from port {port}")
    return float(result["rps"])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="qers-bench-") as runs_dir:
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING"}
        with (
            uvicorn_server("handlers.app:create_app", factory=True, env=env, cpu=0) as ours,
            uvicorn_server("bench.bare_app:app", factory=False, cpu=0) as bare,
        ):
            _load(ours)  # warm-up: the first health answer starts the engine probe
            _load(bare)
            ours_rps: list[float] = []
            bare_rps: list[float] = []
            for _ in range(ROUNDS):
                ours_rps.append(_load(ours))
                bare_rps.append(_load(bare))
    ratios = [o / b for o, b in zip(ours_rps, bare_rps, strict=True)]
    ratio = statistics.median(ratios)
    print("api overhead: GET /v1/health, uvicorn 1 worker each, interleaved rounds")
    print(f"  qers  req/s per round: {', '.join(f'{r:.0f}' for r in ours_rps)}")
    print(f"  bare  req/s per round: {', '.join(f'{r:.0f}' for r in bare_rps)}")
    print(f"  ratio qers/bare (median of rounds): {ratio:.2f}  (target >= {TARGET})")
    return result("api req/s qers/bare", f"{ratio:.3f}", f">= {TARGET}", ratio >= TARGET)


if __name__ == "__main__":
    sys.exit(main())
