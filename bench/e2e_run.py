"""End-to-end `POST /v1/runs` (sync) vs the raw in-process loop, for a 240-step r2d2 run.

QERS runs under uvicorn (bench.servers) with its own RUNS_DIR; each request runs
`urdf_rollout` (r2d2, 240 steps) in an isolated (warm, reused) child, stores it (run folder,
metrics, replay) and answers with the finished run. The raw side connects, loads the floor and
r2d2 (`loadURDF`), runs the same 240 steps (commanding the actions the run applied, taken
from an in-process run of the same spec, which is bit-identical) with the same state reads
and disconnects, in this process (`rawloop.steady_malloc` first). Rounds are interleaved.
Target: QERS wall time <= 1.2 x raw (issue #15).

After each POST the bench waits until the server's processes are idle before timing the raw
side: the server answers first and then warms up a replacement spare (~130 ms of CPU), which
would otherwise run alongside the raw loop, slow it and flatter the ratio.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import time

from bench import rawloop
from bench.report import result
from bench.servers import settle_descendants, uvicorn_server
from simengine import api

STEPS = 240
ROUNDS = int(os.environ.get("BENCH_E2E_ROUNDS", "15"))
TARGET = 1.2
BODY = json.dumps({"scenario": "urdf_rollout", "options": {"steps": STEPS}}).encode()


def post_run(conn: http.client.HTTPConnection) -> float:
    started = time.perf_counter()
    conn.request("POST", "/v1/runs", body=BODY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    run = json.loads(payload)
    if response.status != 201 or run.get("status") != "SUCCEEDED":
        raise RuntimeError(f"POST /v1/runs answered {response.status}: {payload[:300]!r}")
    return elapsed


def engine_in_process() -> float:
    started = time.perf_counter()
    api.run_spec({"scenario": "urdf_rollout", "steps": STEPS})
    return time.perf_counter() - started


def main() -> int:
    rawloop.steady_malloc()
    # The episode the service runs (the same spec, bit-identical), whose actions raw replays.
    actions = rawloop.applied_actions({"scenario": "urdf_rollout", "steps": STEPS})
    api_ms: list[float] = []
    raw_ms: list[float] = []
    engine_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="qers-bench-e2e-") as runs_dir:
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING"}
        with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(2):  # warm-up: fork server start, file caches
                post_run(conn)
                settle_descendants()
                rawloop.run(STEPS, actions=actions)
                engine_in_process()
            for _ in range(ROUNDS):
                api_ms.append(post_run(conn) * 1000)
                settle_descendants()
                raw_ms.append(rawloop.run(STEPS, actions=actions) * 1000)
                engine_ms.append(engine_in_process() * 1000)
            conn.close()
    ratios = [a / r for a, r in zip(api_ms, raw_ms, strict=True)]
    ratio = statistics.median(ratios)
    api_med, raw_med = statistics.median(api_ms), statistics.median(raw_ms)
    print(f"end-to-end POST /v1/runs: urdf_rollout (r2d2), {STEPS} steps, {ROUNDS} rounds")
    print(f"  POST /v1/runs ms: {', '.join(f'{t:.0f}' for t in api_ms)}")
    print(f"  raw loop      ms: {', '.join(f'{t:.0f}' for t in raw_ms)}")
    engine_med = statistics.median(engine_ms)
    print(f"  run_spec ms:      {', '.join(f'{t:.0f}' for t in engine_ms)}")
    print(
        f"  median: POST {api_med:.1f} ms, raw {raw_med:.1f} ms,"
        f" engine in-process {engine_med:.1f} ms"
    )
    print(
        f"  where the {api_med - raw_med:.0f} ms go: engine (run_spec incl. replay encoding) vs raw"
        f" {engine_med - raw_med:.0f} ms; isolation, store, HTTP {api_med - engine_med:.0f} ms"
    )
    print(f"  ratio POST/raw (median of per-round ratios): {ratio:.2f}")
    return result("e2e POST /v1/runs / raw", f"{ratio:.2f}", f"<= {TARGET}", ratio <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
