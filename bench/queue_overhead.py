"""Queued mode vs embedded mode: 200 short runs, two lanes each, side by side in one run.

Embedded: one uvicorn API (no Redis); two client threads POST /v1/runs, each request
executes its run before answering. Queued: the same API with REDIS_URL plus two `qers
worker` processes; the runs are POSTed (202) and the clock stops when the last one is
SUCCEEDED. Both modes execute every run in an isolated child; the difference is the
queue: Redis round trips, the work horse fork, run-folder writes by the worker.

Reported: per-run overhead of the queued path = (T_queued - T_embedded) x lanes / runs
(target <= 30 ms), the throughput ratio, and Redis commands processed per run (all
clients, from INFO stats, net of the idle background rate measured just before; a
pipeline counts each of its commands, though it is one round trip).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from bench.report import result
from bench.servers import ROOT, uvicorn_server

RUNS = int(os.environ.get("BENCH_QUEUE_RUNS", "200"))
LANES = 2
TARGET_MS = 30.0
IDLE_S = 5.0
REDIS_URL = os.environ.get("QERS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
BODY = {"scenario": "drop_test", "options": {"steps": 30, "tags": ["bench"]}}
QERS = Path(sys.executable).with_name("qers")


def _post(port: int, count: int, expect: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    payload = json.dumps(BODY).encode()
    for _ in range(count):
        conn.request("POST", "/v1/runs", body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != expect:
            raise RuntimeError(f"POST /v1/runs answered {response.status}: {body[:300]!r}")
    conn.close()


def _in_lanes(port: int, runs: int, expect: int) -> None:
    with ThreadPoolExecutor(LANES) as pool:
        share = [runs // LANES + (1 if i < runs % LANES else 0) for i in range(LANES)]
        list(pool.map(lambda n: _post(port, n, expect), share))


def _succeeded(port: int) -> int:
    """Runs SUCCEEDED so far (one small listing per poll, not every run document)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    count = 0
    cursor = ""
    while True:
        conn.request("GET", f"/v1/runs?tag=bench&status=SUCCEEDED&limit=1000{cursor}")
        page = json.loads(conn.getresponse().read())
        count += len(page["items"])
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    conn.close()
    return count


def embedded(runs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="qers-bench-embedded-") as runs_dir:
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING", "REDIS_URL": ""}
        with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
            _in_lanes(port, LANES * 2, 201)  # warm-up
            started = time.perf_counter()
            _in_lanes(port, runs, 201)
            return time.perf_counter() - started


def queued(runs: int, *worker_args: str) -> tuple[float, float]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with tempfile.TemporaryDirectory(prefix="qers-bench-queued-") as runs_dir:
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING", "REDIS_URL": REDIS_URL}
        workers = [
            subprocess.Popen(
                [str(QERS), "worker", *worker_args],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(LANES)
        ]
        try:
            with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
                _in_lanes(port, LANES * 2, 202)  # warm-up: workers' fork servers
                _wait_all(port, LANES * 2)
                # Background traffic (worker heartbeats, RQ's scheduler, the API's
                # reconciler) goes on with or without runs: measured idle, subtracted.
                idle_before, idle_started = _commands(client), time.perf_counter()
                time.sleep(IDLE_S)
                idle_rate = (_commands(client) - idle_before) / (time.perf_counter() - idle_started)
                commands_before = _commands(client)
                started = time.perf_counter()
                _in_lanes(port, runs, 202)
                _wait_all(port, LANES * 2 + runs)
                elapsed = time.perf_counter() - started
                commands = _commands(client) - commands_before - idle_rate * elapsed
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
            client.flushdb()
    return elapsed, commands / runs


def _wait_all(port: int, total: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while _succeeded(port) < total:
        if time.monotonic() > deadline:
            raise RuntimeError("queued runs did not all succeed in time")
        time.sleep(0.05)


def _commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def main() -> int:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        print(f"no Redis at {REDIS_URL} ({exc}); set QERS_BENCH_REDIS_URL")
        return result("queue overhead per run", "not measured", f"<= {TARGET_MS:g} ms", False)
    t_embedded = embedded(RUNS)
    t_queued, commands = queued(RUNS)
    overhead_ms = (t_queued - t_embedded) * LANES / RUNS * 1000
    print(f"embedded: {RUNS} runs in {t_embedded:.2f} s ({RUNS / t_embedded:.1f} runs/s)")
    print(f"queued:   {RUNS} runs in {t_queued:.2f} s ({RUNS / t_queued:.1f} runs/s), 2 workers")
    print(f"throughput queued/embedded: {t_embedded / t_queued:.2f}")
    print(f"redis commands per run (all clients, net of idle traffic): {commands:.1f}")
    return result(
        "queue overhead per run",
        f"{overhead_ms:.1f} ms",
        f"<= {TARGET_MS:g} ms",
        overhead_ms <= TARGET_MS,
    )


if __name__ == "__main__":
    sys.exit(main())
