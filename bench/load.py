"""Load with auth on, and what auth costs per request.

One RUNS_DIR, a runner API key made in its key store, and two uvicorn servers on it
(embedded mode, one worker each): `QERS_AUTH=api_key` and `QERS_AUTH=off`.

- Overhead: the same sequential reads (listRuns, getRun, listScenarios in turn, one
  keep-alive connection) on each server, in interleaved rounds; the figure is the median
  of the per-round differences of median latency. Target: at most 1 ms more per request.
- Load: `--clients` closed-loop clients for `--seconds` on the api_key server, with the
  mix of `bench.loadmix.MIX` (reads and short synchronous creates). Target: no 5xx but
  503 (an admission limit's answer) and no transport error; p50/p99 are reported.

Usage: python -m bench.load [--clients 200] [--seconds 30] [--rounds 21] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.loadmix import CREATE_BODY, HOST, MIX, READS, LoadReport, run_load, sequential
from bench.rawhttp import Connection
from bench.report import result
from bench.servers import settle_descendants, uvicorn_server
from handlers.auth.roles import Role
from handlers.auth.service import API_KEY_HEADER
from handlers.auth.store import KeyStore

APP = "handlers.app:create_app"
SEED_RUNS = 20
# Measured +0.56 to +0.80 ms on 2 cores, +1.04 with other work on the machine; most of it
# is the key store's SQLite look-up (a connection per request, ~0.5 ms). A ratio bar would
# judge a fixed cost against reads that take well under a millisecond (ratio ~2): the
# absolute bar is the one checked.
OVERHEAD_TARGET_MS = 1.0
CLIENT_CPU_WARNING = 0.8  # of one core: past it the load generator may be what limits


@dataclass(frozen=True)
class Overhead:
    """Median per-request latency (ms) of each round, auth off and api_key."""

    off_ms: list[float]
    on_ms: list[float]
    requests: int

    @property
    def extra_ms(self) -> float:
        return statistics.median(on - off for on, off in zip(self.on_ms, self.off_ms, strict=True))

    @property
    def ratio(self) -> float:
        return statistics.median(on / off for on, off in zip(self.on_ms, self.off_ms, strict=True))

    @property
    def passed(self) -> bool:
        return self.extra_ms <= OVERHEAD_TARGET_MS


@dataclass(frozen=True)
class BenchReport:
    load: LoadReport
    overhead: Overhead


def measure(*, clients: int, seconds: float, rounds: int, requests: int) -> BenchReport:
    """Start the servers, measure the overhead, then the load; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="qers-bench-load-") as runs_dir:
        key, _ = KeyStore(Path(runs_dir)).create(role=Role.RUNNER, name="bench-load")
        headers = {API_KEY_HEADER: key.key}
        # Embedded whatever the environment says: the empty Redis URL means none.
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING", "REDIS_URL": ""}
        env["QERS_REDIS_URL"] = ""
        with uvicorn_server(APP, factory=True, env={**env, "QERS_AUTH": "api_key"}) as on:
            run_ids = asyncio.run(_seed(on, headers))
            with uvicorn_server(APP, factory=True, env={**env, "QERS_AUTH": "off"}) as off:
                settle_descendants()
                overhead = asyncio.run(
                    _overhead(on, off, headers=headers, run_ids=run_ids, rounds=rounds, n=requests)
                )
            settle_descendants()
            load = asyncio.run(
                run_load(on, clients=clients, seconds=seconds, headers=headers, run_ids=run_ids)
            )
    return BenchReport(load, overhead)


async def _seed(port: int, headers: Mapping[str, str]) -> list[str]:
    """SEED_RUNS finished runs for listRuns and getRun to read."""
    connection = Connection(HOST, port, headers=headers, timeout_s=60)
    run_ids: list[str] = []
    try:
        for _ in range(SEED_RUNS):
            status, body = await connection.request("POST", "/v1/runs", CREATE_BODY)
            if status != 201:
                raise RuntimeError(f"POST /v1/runs answered {status}: {body[:300]!r}")
            run_ids.append(str(json.loads(body)["id"]))
    finally:
        connection.close()
    return run_ids


async def _overhead(
    on: int, off: int, *, headers: Mapping[str, str], run_ids: Sequence[str], rounds: int, n: int
) -> Overhead:
    """Interleaved rounds, the order swapped each round so neither server always goes first."""
    await sequential(on, headers=headers, run_ids=run_ids, requests=n)  # warm-up
    await sequential(off, headers={}, run_ids=run_ids, requests=n)
    on_ms: list[float] = []
    off_ms: list[float] = []
    for index in range(rounds):
        for port in (on, off) if index % 2 == 0 else (off, on):
            sent = headers if port == on else {}
            latencies = await sequential(port, headers=sent, run_ids=run_ids, requests=n)
            (on_ms if port == on else off_ms).append(statistics.median(latencies) * 1000)
    return Overhead(off_ms, on_ms, n)


def print_report(report: BenchReport, *, clients: int, seconds: float) -> int:
    """Print both parts and their RESULT lines; the exit status (0: both targets met)."""
    load, overhead = report.load, report.overhead
    mix = ", ".join(f"{op.name} {op.weight}% ({op.method} {op.path})" for op in MIX)
    print(f"auth overhead: sequential reads ({', '.join(op.name for op in READS)} in turn),")
    print(f"  one keep-alive connection, {len(overhead.on_ms)} interleaved rounds of")
    print(f"  {overhead.requests} requests; median ms/request of each round:")
    print(f"  QERS_AUTH=off     {', '.join(f'{ms:.2f}' for ms in overhead.off_ms)}")
    print(f"  QERS_AUTH=api_key {', '.join(f'{ms:.2f}' for ms in overhead.on_ms)}")
    print(
        f"  api_key - off: {overhead.extra_ms:+.2f} ms per request, ratio {overhead.ratio:.2f}"
        " (medians of per-round figures)"
    )
    print(f"load: {clients} clients x {seconds:g} s, QERS_AUTH=api_key (runner key), embedded,")
    print("  uvicorn 1 worker, loopback, keep-alive; mix:")
    print(f"  {mix}")
    print(f"  createRun body: {CREATE_BODY.decode()}")
    print(f"  {load.requests} answers in {load.seconds:.1f} s: {load.rps:.0f} req/s")
    print(f"  latency p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms (every answer)")
    for name, stats in load.operations.items():
        print(
            f"    {name:14} {stats.requests:7} answers, p50 {stats.p50_ms:7.1f} ms,"
            f" p99 {stats.p99_ms:7.1f} ms"
        )
    classes = ", ".join(f"{name} {count}" for name, count in load.by_class.items())
    print(f"  by class: {classes}; by status: {load.statuses}")
    print(
        f"  503: {load.unavailable}, other 5xx: {load.other_5xx}, 401/403: {load.auth_refusals},"
        f" transport errors: {load.transport_errors}"
    )
    for kind, example in load.error_examples.items():
        print(f"    first {kind}: {example}")
    cpu_note = " (may be what limits: read the figures with care)"
    busy = load.client_cpu > CLIENT_CPU_WARNING
    print(f"  load generator CPU: {load.client_cpu:.0%} of one core{cpu_note if busy else ''}")
    status = result(
        f"load {clients}x{seconds:g}s auth on",
        f"{load.other_5xx} non-503 5xx, {load.transport_errors} transport errors,"
        f" {load.auth_refusals} 401/403; {load.unavailable} 503; p99 {load.p99_ms:.0f} ms",
        "0 5xx but 503, 0 transport errors",
        load.passed,
    )
    status |= result(
        "auth overhead per request",
        f"{overhead.extra_ms:+.2f} ms, ratio {overhead.ratio:.2f}",
        f"<= {OVERHEAD_TARGET_MS:g} ms extra",
        overhead.passed,
    )
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    # Short rounds, many of them: a burst of other work on the machine spoils few.
    parser.add_argument("--rounds", type=int, default=21, help="overhead rounds per server")
    parser.add_argument("--requests", type=int, default=100, help="requests per overhead round")
    args = parser.parse_args(argv)
    report = measure(
        clients=args.clients, seconds=args.seconds, rounds=args.rounds, requests=args.requests
    )
    return print_report(report, clients=args.clients, seconds=args.seconds)


if __name__ == "__main__":
    sys.exit(main())
