"""Short episodes at engine speed (issue 15): the service against a warm raw pybullet loop.

The service is a uvicorn server in embedded mode (bench.servers) with its own temporary
RUNS_DIR and otherwise default settings (warm spares: the cores). The reference is this
process (`rawloop.steady_malloc` first) running the same episodes serially with bench.rawloop
(connect, apply the profile, load the floor and the robot, step with position commands and
state reads, disconnect) after a first pass has warmed it. "The same episode": the same URDF,
steps and dt, per child the same applied profile (the domain-randomised sample of (seed,
profile, episode), set with the engine's own calls; motor forces scaled), and the very
actions the service's run applied (exactly: from an in-process run of its spec, checked
against its stored replay), so both sides do the same physics. The raw loop has no
actuator latency, sensor noise, seeded sweep, metrics, replay or storage: that is the
service's work, measured here.

Three figures, each the median of interleaved rounds (after every service call the bench
waits until the server's processes are idle, so a spare's warm-up does not slow the raw side):

1. The seed batch body (tests/fixtures/seed/batch_request.json: simple_robot.urdf, 3
   profiles x 3 DR episodes, 50 steps) through POST /api/sim/batch, divided by the ideal:
   the raw serial time of its nine episodes / cores. Target <= 2.
2. The same body with 100 DR episodes per profile (300 children, the contract's maximum):
   the same ratio and target.
3. 200 POST /api/sim/run (same robot, 50 steps, dt 0.01) from 2 keep-alive clients: runs/s
   divided by what the raw loop does on the same cores (its single-process episodes/s x
   cores). Target >= 0.3.

`python -m bench.episodes --quick` runs tiny sizes: a smoke test whose figures mean nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench import rawloop
from bench.report import result
from bench.servers import ROOT, settle_descendants, uvicorn_server
from handlers.settings import Settings

SEED_BODY = json.loads((ROOT / "tests" / "fixtures" / "seed" / "batch_request.json").read_text())
URDF = str(ROOT / SEED_BODY["urdf_path"])
CORES = os.cpu_count() or 1
CLIENTS = 2
BATCH_TARGET = 2.0
RUNS_TARGET = 0.3
RUN_BODY = {
    "urdf_path": SEED_BODY["urdf_path"],
    "profile": "default",
    "steps": SEED_BODY["steps"],
    "dt": SEED_BODY["dt"],
}
# The spec of those runs (and of the batch children, with their profile, seed, episode).
RUN_SPEC = {
    "scenario": "urdf_rollout",
    "urdf_path": URDF,
    "steps": SEED_BODY["steps"],
    "dt": SEED_BODY["dt"],
}
Episodes = list[dict[str, Any]]


@dataclass(frozen=True)
class Sizes:
    """How much to measure."""

    seed_rounds: int = 7
    large_rounds: int = 3
    large_episodes: int = 100  # per profile: the contract's maximum
    runs: int = 200  # sim runs per round, shared by the clients
    runs_rounds: int = 2


QUICK = Sizes(seed_rounds=1, large_rounds=1, large_episodes=2, runs=4, runs_rounds=1)


def batch_episodes(body: dict[str, Any]) -> Episodes:
    """The applied profile of every child of a batch body, by profile then episode."""
    return [
        rawloop.applied(run["profile"], seed=run["seed"], episode=run["dr_episode"], dt=run["dt"])
        for run in child_runs(body)
    ]


def raw_serial(episodes: Episodes, actions: list[Any]) -> float:
    """Wall time of `episodes` run one after another in this process, each commanding the
    actions its run applied, in seconds."""
    started = time.perf_counter()
    for profile, applied in zip(episodes, actions, strict=True):
        rawloop.episode(profile, urdf=URDF, steps=SEED_BODY["steps"], actions=applied)
    return time.perf_counter() - started


def child_runs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The run spec of every child of a batch body, by profile then episode (the order of
    the batch's children)."""
    return [
        {**RUN_SPEC, "steps": body["steps"], "dt": body["dt"], "profile": name}
        | {"seed": body["seed"], "dr_episode": episode}
        for name in body["profiles"]
        for episode in range(int(body.get("dr_episodes_per_profile", 1)))
    ]


def exact_actions(
    conn: http.client.HTTPConnection, run_ids: list[str], runs: list[dict[str, Any]]
) -> list[Any]:
    """The actions each service run applied, exactly: from an in-process run of its spec,
    checked against the run's stored replay (`rawloop.applied_actions`)."""
    actions = []
    for run_id, run in zip(run_ids, runs, strict=True):
        conn.request("GET", f"/v1/runs/{run_id}/replay?format=npz")
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET replay of {run_id} answered {response.status}")
        actions.append(rawloop.applied_actions(run, stored=rawloop.actions_of(payload)))
    return actions


def post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any], expect: int) -> Any:
    """POST `body` as JSON on a keep-alive connection; the decoded answer."""
    headers = {"Content-Type": "application/json"}
    conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != expect:
        raise RuntimeError(f"POST {path} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)


def post_batch(conn: http.client.HTTPConnection, body: dict[str, Any]) -> tuple[float, Any]:
    """Wall time of one POST /api/sim/batch, in seconds, and its report; every child must
    succeed."""
    started = time.perf_counter()
    report = post(conn, "/api/sim/batch", body, 201)
    elapsed = time.perf_counter() - started
    counts = report["counts"]
    if report["status"] != "SUCCEEDED" or counts["succeeded"] != counts["total"]:
        raise RuntimeError(f"batch ended {report['status']}: {counts}")
    return elapsed, report


def batch_rounds(
    conn: http.client.HTTPConnection, body: dict[str, Any], rounds: int
) -> tuple[list[float], list[float]]:
    """`rounds` of (the batch through the service, its episodes raw), in seconds. Every
    round runs the same children (the same seed), so the first one's replays give the
    actions raw commands."""
    episodes = batch_episodes(body)
    service: list[float] = []
    raw: list[float] = []
    actions: list[Any] = []
    for _ in range(rounds):
        elapsed, report = post_batch(conn, body)
        service.append(elapsed)
        if not actions:  # children by profile then episode, as `child_runs`
            run_ids = [c["run_id"] for c in report["children"]]
            actions = exact_actions(conn, run_ids, child_runs(body))
        settle_descendants()
        raw.append(raw_serial(episodes, actions))
        conn.close()  # the server drops keep-alive connections idle for 5 s: the next opens anew
    return service, raw


def client(port: int, seeds: range) -> list[str]:
    """One client: a keep-alive connection POSTing one sim run per seed; their run ids."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    run_ids = []
    try:
        for seed in seeds:
            job = post(conn, "/api/sim/run", {**RUN_BODY, "seed": seed}, 200)
            if job["status"] != "SUCCEEDED":
                raise RuntimeError(f"sim run ended {job['status']}: {job['failure_reason']}")
            run_ids.append(job["run_id"])
    finally:
        conn.close()
    return run_ids


def runs_per_second(port: int, runs: int) -> tuple[float, list[str]]:
    """Sim runs per second, `runs` shared by `CLIENTS` concurrent clients; the run ids by
    seed."""
    share = [range(i, runs, CLIENTS) for i in range(CLIENTS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        ids = list(pool.map(lambda seeds: client(port, seeds), share))
    rate = runs / (time.perf_counter() - started)
    by_seed = {
        seed: run_id
        for seeds, made in zip(share, ids, strict=True)
        for seed, run_id in zip(seeds, made, strict=True)
    }
    return rate, [by_seed[seed] for seed in range(runs)]


def run_rounds(port: int, sizes: Sizes) -> tuple[list[float], list[float]]:
    """Rounds of (service runs/s, raw episodes/s of one process), the same runs (every
    round has the same seeds: the first one's replays give the actions raw commands)."""
    episodes = [rawloop.applied("default", seed=0, episode=None, dt=RUN_BODY["dt"])] * sizes.runs
    service: list[float] = []
    raw: list[float] = []
    actions: list[Any] = []
    for _ in range(sizes.runs_rounds):
        rate, run_ids = runs_per_second(port, sizes.runs)
        service.append(rate)
        if not actions:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            runs = [{**RUN_SPEC, "seed": seed} for seed in range(sizes.runs)]
            actions = exact_actions(conn, run_ids, runs)
            conn.close()
        settle_descendants()
        raw.append(sizes.runs / raw_serial(episodes, actions))
    return service, raw


def ms(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.1f}" for v in values)


def batch_figure(name: str, service: list[float], raw: list[float], episodes: int) -> int:
    """Print one batch's rounds and its RESULT line: service / (raw serial / cores)."""
    ratios = [s / (r / CORES) for s, r in zip(service, raw, strict=True)]
    ratio = statistics.median(ratios)
    med_service, med_raw = statistics.median(service), statistics.median(raw)
    print(f"  {name}, rounds: {len(service)}")
    print(f"    POST /api/sim/batch ms: {ms(service)}")
    print(f"    raw serial ms:          {ms(raw)}")
    print(
        f"    median: service {med_service * 1000:.1f} ms, raw serial {med_raw * 1000:.1f} ms"
        f" ({med_raw / episodes * 1000:.2f} ms an episode), ideal (raw / {CORES} cores)"
        f" {med_raw / CORES * 1000:.1f} ms; service / ideal {ratio:.1f}"
    )
    figure = f"{ratio:.1f}x"
    return result(f"{name} / ideal", figure, f"<= {BATCH_TARGET:g}x", ratio <= BATCH_TARGET)


def runs_figure(service: list[float], raw: list[float], runs: int) -> int:
    """Print the sim runs' rounds and their RESULT line: service / (raw rate x cores)."""
    ratios = [s / (r * CORES) for s, r in zip(service, raw, strict=True)]
    ratio = statistics.median(ratios)
    med_service, med_raw = statistics.median(service), statistics.median(raw)
    print(f"  {runs} sim runs from {CLIENTS} clients, rounds: {len(service)}")
    print(f"    service runs/s:        {', '.join(f'{v:.0f}' for v in service)}")
    print(f"    raw episodes/s (1 process): {', '.join(f'{v:.0f}' for v in raw)}")
    print(
        f"    median: service {med_service:.0f} runs/s ({CLIENTS / med_service * 1000:.1f} ms a"
        f" run per client), raw {med_raw:.0f} episodes/s x {CORES} cores ="
        f" {med_raw * CORES:.0f}; service / raw on the same cores {ratio:.2f}"
    )
    name = f"{runs} sim runs, {CLIENTS} clients / raw x cores"
    return result(name, f"{ratio:.2f}", f">= {RUNS_TARGET:g}", ratio >= RUNS_TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.episodes", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    sizes = QUICK if parser.parse_args(argv).quick else Sizes()
    large_body = {**SEED_BODY, "dr_episodes_per_profile": sizes.large_episodes}
    seed_episodes = len(batch_episodes(SEED_BODY))
    large_episodes = len(batch_episodes(large_body))
    spares = os.environ.get("QERS_WARM_SPARES", Settings().warm_spares)
    print(
        f"short episodes: {SEED_BODY['urdf_path']}, {SEED_BODY['steps']} steps, dt"
        f" {SEED_BODY['dt']}; {CORES} cores; server embedded, warm spares: {spares};"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    rawloop.steady_malloc()
    cold = raw_serial(batch_episodes(SEED_BODY), [None] * seed_episodes)
    print(f"  raw, first pass in this process: {seed_episodes} episodes {cold * 1000:.1f} ms")
    with tempfile.TemporaryDirectory(prefix="qers-bench-episodes-") as runs_dir:
        env = {"RUNS_DIR": runs_dir, "QERS_LOG_LEVEL": "WARNING"}
        with uvicorn_server("handlers.app:create_app", factory=True, env=env) as port:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            batch_rounds(conn, SEED_BODY, 1)  # warm-up: fork server, spares, file caches
            seed = batch_rounds(conn, SEED_BODY, sizes.seed_rounds)
            large = batch_rounds(conn, large_body, sizes.large_rounds)
            conn.close()
            runs_per_second(port, CLIENTS * 2)  # warm-up: the sim-run path, a spare again
            settle_descendants()
            runs = run_rounds(port, sizes)
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    profiles = len(SEED_BODY["profiles"])
    seed_name = f"seed batch ({profiles}x{SEED_BODY['dr_episodes_per_profile']} episodes)"
    large_name = f"batch of {large_episodes} ({profiles}x{sizes.large_episodes} episodes)"
    codes = [
        batch_figure(seed_name, *seed, episodes=seed_episodes),
        batch_figure(large_name, *large, episodes=large_episodes),
        runs_figure(*runs, runs=sizes.runs),
    ]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
