"""The pool of warm children: one child runs episode after episode with the very results
a fresh child gives, and whatever goes wrong costs only the episode it was running."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generated.models import FailureCode, RunStatus
from handlers.isolation import spares
from handlers.isolation.executor import ExecutionResult, Executor, pooled
from simengine.api import list_profiles, list_scenarios

STEPS = 40


def _specs() -> list[dict[str, Any]]:
    """Every scenario under every profile, and each scenario with two DR episodes."""
    scenarios = [s["name"] for s in list_scenarios()]
    profiles = [p["name"] for p in list_profiles()]
    specs = [
        {"scenario": s, "profile": p, "steps": STEPS, "seed": 5, "dr_episode": None}
        for s in scenarios
        for p in profiles
    ]
    specs += [
        {"scenario": s, "profile": "pseudo_reality_A", "steps": STEPS, "seed": 7, "dr_episode": e}
        for s in scenarios
        for e in (1, 2)
    ]
    return specs


@pytest.fixture
def pool() -> Iterator[Executor]:
    executor = Executor(pooled(spares=1, max_episodes=100_000, max_growth_mb=4096))
    executor.warm_up()
    _ready(executor)
    try:
        yield executor
    finally:
        executor.spares.close()


def _ready(executor: Executor, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len(executor.spares._ready) < count:
        assert time.monotonic() < deadline, "no warm child got ready"
        time.sleep(0.02)


def _fingerprint(result: ExecutionResult) -> tuple[str, bytes]:
    assert result.status == RunStatus.SUCCEEDED, result
    assert result.output is not None
    assert result.replay_npz is not None
    return result.output["trajectory_sha256"], result.replay_npz


def test_one_warm_child_gives_every_episode_bit_for_bit_as_a_fresh_child(pool: Executor) -> None:
    specs = _specs()
    fresh = Executor()
    expected = [_fingerprint(fresh.execute(spec, max_duration_s=60)) for spec in specs]
    # Every spec twice in one child, at another position the second time.
    forward = [_fingerprint(pool.execute(spec, max_duration_s=60)) for spec in specs]
    backward = [_fingerprint(pool.execute(spec, max_duration_s=60)) for spec in specs[::-1]]
    assert forward == expected
    assert backward[::-1] == expected
    assert pool.spares.taken == 2 * len(specs)
    assert pool.spares.reused == 2 * len(specs) - 1  # all in the one child


def _pids_of(executor: Executor) -> set[int | None]:
    return {spare.process.pid for spare in executor.spares._ready}


def _good(executor: Executor) -> ExecutionResult:
    return executor.execute({"scenario": "drop_test", "steps": 30}, max_duration_s=60)


def test_a_crashing_asset_costs_only_its_episode(pool: Executor, tmp_path: Path) -> None:
    # Two root links crash PyBullet (SIGSEGV) while it loads the URDF.
    urdf = tmp_path / "two_roots.urdf"
    urdf.write_text('<robot name="r"><link name="a"/><link name="b"/></robot>', encoding="utf-8")
    assert _good(pool).status == RunStatus.SUCCEEDED
    before = _pids_of(pool)
    crashed = pool.execute(
        {"scenario": "urdf_rollout", "steps": 30, "urdf_path": str(urdf)}, max_duration_s=60
    )
    assert crashed.status == RunStatus.FAILED
    assert crashed.failure_code == FailureCode.ENGINE_CRASH
    pool.replenish()
    _ready(pool)
    assert _pids_of(pool).isdisjoint(before)  # the crashed child was replaced
    after = _good(pool)
    assert after.status == RunStatus.SUCCEEDED
    assert _fingerprint(after) == _fingerprint(
        Executor().execute({"scenario": "drop_test", "steps": 30}, max_duration_s=60)
    )


def test_a_hanging_asset_times_out_and_the_pool_goes_on(pool: Executor, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "mesh.obj")  # opening it for reading blocks forever
    urdf = tmp_path / "fifo.urdf"
    urdf.write_text(
        '<robot name="r"><link name="base"><visual><geometry><mesh filename="mesh.obj"/>'
        "</geometry></visual></link></robot>",
        encoding="utf-8",
    )
    hung = pool.execute(
        {"scenario": "urdf_rollout", "steps": 30, "urdf_path": str(urdf)}, max_duration_s=2
    )
    assert hung.status == RunStatus.FAILED
    assert hung.failure_code == FailureCode.TIMEOUT
    pool.replenish()
    _ready(pool)
    assert _good(pool).status == RunStatus.SUCCEEDED


def test_a_cancelled_episode_retires_its_child(pool: Executor) -> None:
    import threading

    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    result = pool.execute(
        {"scenario": "arm_reach", "steps": 200_000, "record_replay": False},
        max_duration_s=60,
        cancel_event=cancel,
    )
    assert result.status == RunStatus.CANCELLED
    assert pool.spares._ready == []  # not given back
    pool.replenish()
    _ready(pool)
    assert _good(pool).status == RunStatus.SUCCEEDED


def test_a_child_is_replaced_after_its_episodes() -> None:
    executor = Executor(pooled(spares=1, max_episodes=3, max_growth_mb=4096))
    executor.warm_up()
    try:
        _ready(executor)
        first = _pids_of(executor)
        for _ in range(3):
            assert _good(executor).status == RunStatus.SUCCEEDED
            time.sleep(0.05)  # the give-back runs on another thread
        assert executor.spares.retired == 1
        executor.replenish()
        _ready(executor)
        assert _pids_of(executor).isdisjoint(first)
        assert executor.spares.reused == 2
    finally:
        executor.spares.close()


def test_a_child_that_grew_too_much_is_replaced() -> None:
    executor = Executor(pooled(spares=1, max_episodes=1000, max_growth_mb=0))
    executor.warm_up()
    try:
        _ready(executor)
        # A quadruped episode (the a1's meshes, its arrays) leaves the child larger than
        # when it got ready: any growth is too much here.
        spec = {"scenario": "quadruped_stand", "steps": 200}
        assert executor.execute(spec, max_duration_s=60).status == RunStatus.SUCCEEDED
        time.sleep(0.2)
        assert executor.spares.retired == 1
    finally:
        executor.spares.close()


def _job_limits_in_a_child(conn: Any) -> None:
    """Burn some CPU, then set a job's limits as a reused child does; report them."""
    import resource

    from handlers.isolation.child import ChildJob, _set_job_limits

    deadline = time.process_time() + 1.2
    while time.process_time() < deadline:
        pass
    job = ChildJob(
        target="x:y", spec={}, cpu_limit_s=7, memory_limit_bytes=2**31, progress_interval_s=1
    )
    _set_job_limits(job)
    conn.send((resource.getrlimit(resource.RLIMIT_CPU), time.process_time()))


def test_a_reused_childs_cpu_allowance_starts_from_what_it_used() -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_job_limits_in_a_child, args=(writer,))
    child.start()
    (soft, hard), used = reader.recv()
    child.join(10)
    # Not 7 s of the process's whole life, which the CPU burnt before would eat into.
    assert soft >= 7 + int(used)
    assert soft <= 7 + int(used) + 1
    assert hard == -1 or hard >= soft  # the hard limit is left as it was


def test_a_refill_while_a_child_comes_back_starts_no_other(monkeypatch: Any) -> None:
    executor = Executor(pooled(spares=1, max_episodes=1000, max_growth_mb=4096))
    executor.warm_up()
    original = spares._ready

    def refill_meanwhile(reader: Any, timeout_s: float) -> bool:
        if timeout_s == spares.GIVE_BACK_READY_S:  # a give-back, not a new spare
            executor.replenish()  # as the event loop may while the child comes back
        return original(reader, timeout_s)

    monkeypatch.setattr(spares, "_ready", refill_meanwhile)
    try:
        _ready(executor)
        first = _pids_of(executor)
        for _ in range(4):
            assert _good(executor).status == RunStatus.SUCCEEDED
            _ready(executor)
            time.sleep(0.3)  # a spare started in its place would be ready by now
        assert executor.spares.retired == 0
        assert _pids_of(executor) == first  # the one child ran every episode
        assert executor.spares.reused == 4 - 1
    finally:
        executor.spares.close()
