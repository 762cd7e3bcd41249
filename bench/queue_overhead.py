"""Queued mode vs embedded mode: 200 short runs each, two lanes, side by side in one run.

Embedded: one uvicorn API (no Redis); two client threads POST /v1/runs, each request
executes its run before answering. Queued: another API with REDIS_URL plus two `qers
worker` processes; the runs are POSTed (202) and the clock stops when RQ has finished the
last job. Four rounds of 50 runs alternate between the modes; medians are compared.
Both modes execute every run in an isolated child; the difference is the queue: Redis
round trips, run-folder writes by the worker (which, by default, runs job after job in one
warm simulation child: issue #15).

Reported: per-run overhead of the queued path = (T_queued - T_embedded) x lanes / runs
per round (target <= 10 ms, issue #15), the throughput ratio, Redis commands processed per run (all
clients, from INFO stats, net of the idle background rate and of the bench's own polls; a
pipeline counts each of its commands, though it is one round trip), and the same
overhead with `qers worker --fork` (RQ's work horse per job) for comparison.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from bench import SERVER_ENVIRON
from bench.report import result
from bench.servers import ROOT, uvicorn_server

RUNS = int(os.environ.get("BENCH_QUEUE_RUNS", "200"))
ROUNDS = 4
FINISHED_KEY = "rq:finished:qers"  # RQ's finished-job registry of the default queue
LANES = 2
TARGET_MS = 10.0
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


@contextlib.contextmanager
def embedded_api() -> Iterator[int]:
    """The API without Redis: each POST executes its run before answering."""
    with tempfile.TemporaryDirectory(prefix="qers-bench-embedded-") as runs_dir:
        # No warm spares: they trade CPU for latency, and this compares throughput; the
        # queued side (forking workers) has none either.
        env = {
            "RUNS_DIR": runs_dir,
            "QERS_LOG_LEVEL": "WARNING",
            "REDIS_URL": "",
            "QERS_WARM_SPARES": "0",
        }
        with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
            _in_lanes(port, LANES * 2, 201)  # warm-up
            yield port


@contextlib.contextmanager
def queued_api(client: redis.Redis, *worker_args: str) -> Iterator[int]:
    """The API with REDIS_URL and LANES `qers worker` processes."""
    client.flushdb()
    with tempfile.TemporaryDirectory(prefix="qers-bench-queued-") as runs_dir:
        env = {
            "RUNS_DIR": runs_dir,
            "QERS_LOG_LEVEL": "WARNING",
            "REDIS_URL": REDIS_URL,
            "QERS_WARM_SPARES": "0",
        }
        workers = [
            subprocess.Popen(
                [str(QERS), "worker", *worker_args],
                cwd=ROOT,
                env={**SERVER_ENVIRON, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(LANES)
        ]
        try:
            with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
                _in_lanes(port, LANES * 2, 202)  # warm-up: the workers' fork servers
                _wait_finished(client, LANES * 2)
                yield port
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
            client.flushdb()


def _wait_finished(client: redis.Redis, total: int, timeout_s: float = 600) -> int:
    """Poll RQ's finished-job registry until `total` jobs are in it; returns the polls."""
    deadline = time.monotonic() + timeout_s
    polls = 0
    while True:
        polls += 1
        if client.zcard(FINISHED_KEY) >= total:
            return polls
        if time.monotonic() > deadline:
            raise RuntimeError("queued runs did not all finish in time")
        time.sleep(0.01)


def _commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def measure(rounds: int, per_round: int, *worker_args: str) -> tuple[float, float, float]:
    """Median seconds per round (embedded, queued) and Redis commands per queued run.

    Rounds alternate between the two modes, both set up once, so drift in the machine's
    speed hits both alike.
    """
    client = redis.Redis.from_url(REDIS_URL)
    embedded_s: list[float] = []
    queued_s: list[float] = []
    commands = 0.0
    with embedded_api() as e_port, queued_api(client, *worker_args) as q_port:
        # Background traffic (worker heartbeats, RQ's scheduler, the API's reconciler)
        # goes on with or without runs: measured idle, then subtracted.
        idle_before, idle_started = _commands(client), time.perf_counter()
        time.sleep(IDLE_S)
        idle_rate = (_commands(client) - idle_before) / (time.perf_counter() - idle_started)
        done = LANES * 2
        for _ in range(rounds):
            started = time.perf_counter()
            _in_lanes(e_port, per_round, 201)
            embedded_s.append(time.perf_counter() - started)
            before = _commands(client)
            started = time.perf_counter()
            _in_lanes(q_port, per_round, 202)
            done += per_round
            polls = _wait_finished(client, done)
            elapsed = time.perf_counter() - started
            queued_s.append(elapsed)
            commands += _commands(client) - before - polls - idle_rate * elapsed
    return (
        statistics.median(embedded_s),
        statistics.median(queued_s),
        commands / (rounds * per_round),
    )


def main() -> int:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        print(f"no Redis at {REDIS_URL} ({exc}); set QERS_BENCH_REDIS_URL")
        return result("queue overhead per run", "not measured", f"<= {TARGET_MS:g} ms", False)
    per_round = RUNS // ROUNDS
    t_embedded, t_queued, commands = measure(ROUNDS, per_round)
    overhead_ms = (t_queued - t_embedded) * LANES / per_round * 1000
    print(f"{ROUNDS} alternating rounds of {per_round} runs per mode, {LANES} lanes each")
    print(f"embedded: {t_embedded:.2f} s per round ({per_round / t_embedded:.1f} runs/s)")
    print(f"queued:   {t_queued:.2f} s per round ({per_round / t_queued:.1f} runs/s)")
    print(f"throughput queued/embedded: {t_embedded / t_queued:.2f}")
    print(f"redis commands per run (all clients, net of idle traffic and polling): {commands:.1f}")
    if os.environ.get("BENCH_QUEUE_FORK", "1") == "1":
        e_f, q_f, _ = measure(ROUNDS, per_round, "--fork")
        fork_ms = (q_f - e_f) * LANES / per_round * 1000
        print(f"for comparison, qers worker --fork: {fork_ms:.1f} ms per run")
    return result(
        "queue overhead per run",
        f"{overhead_ms:.1f} ms",
        f"<= {TARGET_MS:g} ms",
        overhead_ms <= TARGET_MS,
    )


if __name__ == "__main__":
    sys.exit(main())
