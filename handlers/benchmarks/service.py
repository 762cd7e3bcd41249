"""The sim-to-real gap benchmark (`qers bench gaps`): run a suite, store its BenchmarkReport.

Every episode is an ordinary run (origin "benchmark") executed by RunService in an
isolated child; the open-loop replays of G_dyn/G_perc run in isolated children too
(`simengine.api.gap_spec`, which runs `simengine.openloop.gap_spec`). Everything the
numbers depend on is in the suite (scenarios, profiles, seeds, steps) and the engine
versions, both recorded in the report; the suite is documented in docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from handlers.batch.plan import default_concurrency
from handlers.benchmarks.report import numbers
from handlers.errors import QersError
from handlers.isolation.executor import Executor, ExecutorConfig
from handlers.kit.documents import DocumentFolder
from handlers.kit.timestamps import rfc3339
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService
from handlers.settings import Settings
from simengine import api as engine_api
from simengine import replay as engine_replay
from simengine.versions import engine_info

BENCHMARK_FOLDER = ".benchmarks"
OPERATION = "benchGaps"
REPLAY_BUDGET_S = 300.0
STANDARD_SUITE: dict[str, Any] = {
    "name": "standard",
    "version": "1.0.0",
    "scenarios": ["arm_reach", "drop_test", "push_slide", "quadruped_stand", "urdf_rollout"],
    "baseline_profile": "default",
    "profiles": ["pseudo_reality_A", "worn_actuators", "slippery_warehouse"],
    "episodes": 3,
    "seeds": [0, 1, 2],
    "steps": None,
}
Progress = Callable[[str], None]
# Where a run's fields would sit in a request (for the 422 a bad custom suite gets).
_POINTERS = {
    name: f"/{name}"
    for name in (
        "scenario",
        "profile",
        "seed",
        "steps",
        "dt",
        "params",
        "max_duration_s",
        "urdf_path",
    )
}


class BenchmarkError(QersError):
    """A run or replay of the suite did not succeed, so no report can be computed."""

    title = "Benchmark failed"
    type_slug = "internal"


def suite(
    *,
    scenarios: Sequence[str] | None = None,
    profiles: Sequence[str] | None = None,
    episodes: int | None = None,
    steps: int | None = None,
) -> dict[str, Any]:
    """The standard suite, or a custom one where any part is overridden."""
    chosen = dict(STANDARD_SUITE)
    if scenarios:
        chosen["scenarios"] = list(scenarios)
    if profiles:
        chosen["profiles"] = list(profiles)
    if episodes is not None:
        chosen["episodes"] = episodes
        chosen["seeds"] = list(range(episodes))
    if steps is not None:
        chosen["steps"] = steps
    if chosen != STANDARD_SUITE:
        chosen["name"] = "custom"
    return chosen


def reports(settings: Settings) -> DocumentFolder:
    """Where benchmark reports are stored (RUNS_DIR/.benchmarks)."""
    return DocumentFolder(
        settings.runs_dir, folder=BENCHMARK_FOLDER, kind="benchmark report", prefix="bmk_"
    )


def latest(settings: Settings) -> dict[str, Any] | None:
    """The newest stored report, or None."""
    found = list(reports(settings).all())
    return max(found, key=lambda r: (r["created_at"], r["id"])) if found else None


def task_count(chosen: dict[str, Any]) -> int:
    """Runs plus replays the suite executes (for a progress bar)."""
    episodes = int(chosen["episodes"])
    return len(chosen["scenarios"]) * ((1 + len(chosen["profiles"])) * episodes + episodes)


async def run_benchmark(
    chosen: dict[str, Any],
    *,
    runs: RunService,
    settings: Settings,
    on_done: Progress | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Run `chosen` (a BenchmarkSuite), store its BenchmarkReport and return it."""
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency or default_concurrency())
    tick = on_done or (lambda _what: None)
    names = [chosen["baseline_profile"], *chosen["profiles"]]
    jobs = [
        (s, p, e) for s in chosen["scenarios"] for p in names for e in range(chosen["episodes"])
    ]

    async def one_run(scenario: str, profile: str, episode: int) -> dict[str, Any]:
        async with gate:
            run = await runs.create(
                _request(chosen, scenario, profile, episode), origin="benchmark"
            )
        tick(f"{scenario} / {profile} / episode {episode}")
        if run["status"] != "SUCCEEDED":
            raise BenchmarkError(
                f"Run {run['id']} ({scenario}, {profile}, episode {episode}) ended "
                f"{run['status']}: {run['failure_reason']}"
            )
        task = run["metrics"]["task"]
        return {"run_id": run["id"], "success": task["success"], "score": task["score"]}

    outcomes = await asyncio.gather(*(one_run(*job) for job in jobs))
    episodes: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (scenario, profile, _), outcome in zip(jobs, outcomes, strict=True):
        episodes.setdefault((scenario, profile), []).append(outcome)
    executor = Executor(ExecutorConfig(target=engine_api.gap_spec))

    async def one_replay(scenario: str, episode: int) -> dict[str, Any]:
        base = episodes[(scenario, chosen["baseline_profile"])][episode]
        async with gate:
            result = await _replay(executor, runs, chosen, scenario, episode, base["run_id"])
        tick(f"{scenario} / open-loop replay {episode}")
        return result

    keys = [(s, e) for s in chosen["scenarios"] for e in range(chosen["episodes"])]
    replays = dict(zip(keys, await asyncio.gather(*(one_replay(*k) for k in keys)), strict=True))
    report = {
        "id": reports(settings).new_id(),
        "created_at": rfc3339(),
        "suite": chosen,
        "engine": dict(engine_info()),
        "duration_s": time.monotonic() - started,
        **numbers(chosen, episodes, replays),
    }
    reports(settings).put(report["id"], report)
    return report


def _request(chosen: dict[str, Any], scenario: str, profile: str, episode: int) -> RunRequest:
    return RunRequest(
        operation=OPERATION,
        scenario=scenario,
        pointers=_POINTERS,
        profile=profile,
        seed=chosen["seeds"][episode],
        steps=chosen["steps"],
        tags=("bench-gaps",),
        episode=episode,
    )


async def _replay(
    executor: Executor,
    runs: RunService,
    chosen: dict[str, Any],
    scenario: str,
    episode: int,
    run_id: str,
) -> dict[str, Any]:
    """G_dyn/G_perc of one baseline episode: its recorded actions replayed in a child."""
    run = runs.get(run_id)
    arrays = engine_replay.from_npz(runs.artifacts.replay_npz(run_id))
    job = {
        "run": {
            "scenario": scenario,
            "profile": chosen["baseline_profile"],
            "seed": run["config"]["seed"],
            "steps": run["config"]["steps"],
            "dt": run["config"]["dt"],
            "params": run["config"]["params"],
            "dr_episode": episode,
        },
        "profiles": chosen["profiles"],
        "actions": arrays["action"].astype(float).tolist(),
    }
    result = await executor.execute_async(job, max_duration_s=REPLAY_BUDGET_S)
    if result.output is None or result.status.value != "SUCCEEDED":
        raise BenchmarkError(
            f"The open-loop replay of run {run_id} failed: {result.failure_reason}"
        )
    return result.output
