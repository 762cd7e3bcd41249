"""Closed-loop load of a request mix on one server, and a sequential latency loop.

Each client owns one keep-alive connection and sends its next request as soon as the
last is answered, until the time is up (requests in flight then are waited for). Every
client draws its operations from its own seeded generator. Answers are tallied by
status; a refused connection, a reset, an early close or an answer slower than
`REQUEST_TIMEOUT_S` is a transport error. After a 503 a client goes on at once, without
waiting for Retry-After: the harder case for an admission limit.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.rawhttp import Connection, TransportError

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 60.0
ERROR_PAUSE_S = 0.05  # after a transport error, so a dead server is not spun on
MAX_KNOWN_RUNS = 1000  # run ids kept for getRun; creates past this are not remembered
CREATE_BODY = json.dumps(
    {"scenario": "drop_test", "options": {"steps": 20, "record_replay": False}}
).encode()


@dataclass(frozen=True)
class Operation:
    """One kind of request in the mix; `{run_id}` in the path is a known run's id."""

    name: str
    weight: int
    method: str
    path: str
    body: bytes = b""


LIST_RUNS = Operation("listRuns", 40, "GET", "/v1/runs?limit=20")
GET_RUN = Operation("getRun", 35, "GET", "/v1/runs/{run_id}")
LIST_SCENARIOS = Operation("listScenarios", 15, "GET", "/v1/scenarios")
CREATE_RUN = Operation("createRun", 10, "POST", "/v1/runs", CREATE_BODY)
MIX = (LIST_RUNS, GET_RUN, LIST_SCENARIOS, CREATE_RUN)
READS = (LIST_RUNS, GET_RUN, LIST_SCENARIOS)


@dataclass
class Tally:
    """What the clients saw: latencies (s) by operation, answers by status, transport
    errors by exception type with one message of each."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationStats:
    requests: int
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadReport:
    """One load run, as `bench.load` prints and checks it."""

    clients: int
    seconds: float
    requests: int  # answered, whatever the status
    rps: float
    p50_ms: float
    p99_ms: float
    by_class: dict[str, int]  # "2xx" .. "5xx"
    statuses: dict[int, int]
    unavailable: int  # 503: allowed (admission limit, storage busy)
    other_5xx: int
    auth_refusals: int  # 401/403: the bench's key did not work, the figures would be of refusals
    transport_errors: int
    error_examples: dict[str, str]
    client_cpu: float  # the load generator's CPU time over wall time (1.0: one whole core)
    operations: dict[str, OperationStats]

    @property
    def passed(self) -> bool:
        return self.other_5xx == 0 and self.transport_errors == 0 and self.auth_refusals == 0


def path_of(operation: Operation, run_ids: Sequence[str], pick: int) -> str:
    """The operation's path, on the `pick`-th known run (modulo) where it names one."""
    if "{run_id}" not in operation.path:
        return operation.path
    return operation.path.replace("{run_id}", run_ids[pick % len(run_ids)])


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (not empty), e.g. fraction 0.99."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


async def run_load(
    port: int,
    *,
    clients: int,
    seconds: float,
    headers: Mapping[str, str],
    run_ids: Sequence[str],
    mix: Sequence[Operation] = MIX,
    seed: int = 0,
) -> LoadReport:
    """`clients` closed-loop clients on `mix` for `seconds`; `run_ids` (at least one):
    runs getRun may ask for."""
    if not run_ids:
        raise ValueError("run_load needs at least one run id for getRun")
    known = list(run_ids)
    tally = Tally(latencies={op.name: [] for op in mix})
    cpu_before, started = time.process_time(), time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _client(
                Connection(HOST, port, headers=headers, timeout_s=REQUEST_TIMEOUT_S),
                random.Random(seed * 1_000_003 + index),  # noqa: S311 (a mix, not secrets)
                mix=mix,
                deadline=deadline,
                known=known,
                tally=tally,
            )
            for index in range(clients)
        )
    )
    wall = time.perf_counter() - started
    return _report(tally, clients, wall, (time.process_time() - cpu_before) / wall)


async def sequential(
    port: int, *, headers: Mapping[str, str], run_ids: Sequence[str], requests: int
) -> list[float]:
    """Latencies (s) of `requests` reads in turn (READS in order) on one connection;
    RuntimeError for any answer but 200."""
    connection = Connection(HOST, port, headers=headers, timeout_s=REQUEST_TIMEOUT_S)
    latencies: list[float] = []
    try:
        for index, operation in zip(range(requests), itertools.cycle(READS), strict=False):
            path = path_of(operation, run_ids, index)
            started = time.perf_counter()
            status, body = await connection.request(operation.method, path)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    finally:
        connection.close()
    return latencies


async def _client(
    connection: Connection,
    rng: random.Random,
    *,
    mix: Sequence[Operation],
    deadline: float,
    known: list[str],
    tally: Tally,
) -> None:
    weights = list(itertools.accumulate(op.weight for op in mix))
    try:
        while time.perf_counter() < deadline:
            operation = rng.choices(mix, cum_weights=weights)[0]
            path = path_of(operation, known, rng.getrandbits(32))
            started = time.perf_counter()
            try:
                status, body = await connection.request(operation.method, path, operation.body)
            except TransportError as exc:
                kind = type(exc).__name__
                tally.errors[kind] += 1
                tally.error_examples.setdefault(kind, f"{operation.method} {path}: {exc}"[:200])
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            tally.latencies[operation.name].append(time.perf_counter() - started)
            tally.statuses[status] += 1
            if operation is CREATE_RUN and status == 201 and len(known) < MAX_KNOWN_RUNS:
                known.append(json.loads(body)["id"])
    finally:
        connection.close()


def _report(tally: Tally, clients: int, wall: float, client_cpu: float) -> LoadReport:
    every = [t for latencies in tally.latencies.values() for t in latencies]
    by_class = {f"{n}xx": 0 for n in range(2, 6)}
    for status, count in tally.statuses.items():
        by_class[f"{status // 100}xx"] = by_class.get(f"{status // 100}xx", 0) + count
    operations = {
        name: OperationStats(
            len(latencies),
            percentile(latencies, 0.50) * 1000 if latencies else math.nan,
            percentile(latencies, 0.99) * 1000 if latencies else math.nan,
        )
        for name, latencies in tally.latencies.items()
    }
    return LoadReport(
        clients=clients,
        seconds=wall,
        requests=len(every),
        rps=len(every) / wall,
        p50_ms=percentile(every, 0.50) * 1000 if every else math.nan,
        p99_ms=percentile(every, 0.99) * 1000 if every else math.nan,
        by_class=by_class,
        statuses=dict(sorted(tally.statuses.items())),
        unavailable=tally.statuses[503],
        other_5xx=by_class["5xx"] - tally.statuses[503],
        auth_refusals=tally.statuses[401] + tally.statuses[403],
        transport_errors=sum(tally.errors.values()),
        error_examples=dict(tally.error_examples),
        client_cpu=client_cpu,
        operations=operations,
    )
