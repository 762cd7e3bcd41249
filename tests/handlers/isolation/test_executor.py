"""The executor runs real child processes: crashes, hangs and limits become failure codes."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generated.models.FailureCode_schema import FailureCode
from generated.models.RunStatus_schema import RunStatus
from handlers.isolation import executor as executor_module
from handlers.isolation import forkserver
from handlers.isolation.executor import Executor, ExecutorConfig
from handlers.isolation.failures import Progress, from_exit, scrub_paths
from handlers.isolation.outcome import ExecutionResult
from simengine import replay
from simengine.cpu import NUMPY_AVX512_TARGETS

ROOT = Path(__file__).resolve().parents[3]
TARGETS = "tests.handlers.isolation.executor_targets"
MIB = 1024 * 1024
INERTIAL = (
    '<inertial><mass value="1"/>'
    '<inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial>'
)


def executor(name: str, **config: float) -> Executor:
    return Executor(ExecutorConfig(target=f"{TARGETS}:{name}", **config))  # type: ignore[arg-type]


def run(
    name: str, spec: dict[str, Any] | None = None, *, max_duration_s: float = 10, **config: float
) -> ExecutionResult:
    return executor(name, **config).execute(spec or {}, max_duration_s=max_duration_s)


def assert_failed(result: ExecutionResult, code: FailureCode) -> str:
    assert result.status == RunStatus.FAILED, result
    assert result.failure_code == code, result
    assert result.failure_reason
    assert scrub_paths(result.failure_reason) == result.failure_reason  # no absolute paths
    return result.failure_reason


def test_children_run_numpy_without_its_avx512_kernels() -> None:
    # simengine.cpu: the fork server sets the variable before it imports numpy.
    result = run("numpy_dispatch")
    assert result.output is not None, result
    assert result.output["metrics"] == {"setting": NUMPY_AVX512_TARGETS, "avx512_in_use": []}


def test_success_returns_output_replay_and_throttled_progress() -> None:
    seen: list[tuple[int, int]] = []
    result = executor("succeed").execute(
        {"steps": 20, "step_s": 0.02, "echo": "hi", "replay_kib": 300},
        max_duration_s=10,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert result.status == RunStatus.SUCCEEDED, result
    assert result.output is not None
    assert result.output["metrics"] == {"steps": 20, "echo": "hi"}
    assert result.output["trajectory_sha256"] == "0" * 64
    assert result.replay_npz == bytes(range(256)) * 1200
    assert result.failure_code is None
    assert (result.steps_done, result.steps_total) == (20, 20)
    assert seen[-1] == (20, 20)
    assert 2 <= len(seen) < 20  # throttled to one frame per 0.1 s, plus the last


def test_segfault_before_first_step_is_engine_crash_about_the_robot() -> None:
    reason = assert_failed(run("segfault"), FailureCode.ENGINE_CRASH)
    assert "SIGSEGV" in reason
    assert "root link" in reason


def test_segfault_midway_names_the_step() -> None:
    result = run("segfault_midway")
    reason = assert_failed(result, FailureCode.ENGINE_CRASH)
    assert "at step 5 of 10" in reason
    assert result.exit_code == -signal.SIGSEGV


def test_hang_times_out_at_max_duration() -> None:
    started = time.monotonic()
    result = run("loop_forever", max_duration_s=1.0)
    elapsed = time.monotonic() - started
    reason = assert_failed(result, FailureCode.TIMEOUT)
    assert "max_duration_s=1" in reason
    # Killed at the budget, not left hanging (generous slack: this machine is shared).
    assert 1.0 <= elapsed < 10.0
    assert result.steps_done > 0


def test_cpu_limit_is_resource_limit() -> None:
    result = run("burn_cpu", max_duration_s=10, cpu_margin_s=-9)  # 1 CPU second
    reason = assert_failed(result, FailureCode.RESOURCE_LIMIT)
    assert "CPU-time limit of 1 s" in reason
    assert result.exit_code == -signal.SIGXCPU


def test_memory_limit_is_resource_limit() -> None:
    result = run("allocate", memory_limit_bytes=512 * MIB)
    reason = assert_failed(result, FailureCode.RESOURCE_LIMIT)
    assert "out of memory (limit 512 MiB)" in reason


def test_domain_error_keeps_its_code_and_loses_server_paths() -> None:
    reason = assert_failed(run("sim_error"), FailureCode.INVALID_ASSET)
    assert reason == "mesh robot.obj is not a file"


def test_spec_error_without_code_is_internal_with_the_engine_reason() -> None:
    reason = assert_failed(run("spec_error"), FailureCode.INTERNAL)
    assert (
        reason
        == "the engine rejected the run spec: scenario: unknown scenario 'nope'; valid: drop_test"
    )


def test_unexpected_exception_is_internal_naming_only_the_type() -> None:
    reason = assert_failed(run("unexpected"), FailureCode.INTERNAL)
    assert "KeyError" in reason
    assert "secret" not in reason


def test_unknown_target_is_internal() -> None:
    result = Executor(ExecutorConfig(target="no_such_module_qers:run")).execute(
        {}, max_duration_s=5
    )
    assert "ModuleNotFoundError" in assert_failed(result, FailureCode.INTERNAL)


@pytest.mark.parametrize("max_duration_s", [0, -1, float("inf"), float("nan")])
def test_max_duration_must_be_positive_and_finite(max_duration_s: float) -> None:
    with pytest.raises(ValueError, match="max_duration_s"):
        run("trivial", max_duration_s=max_duration_s)


def test_exit_without_result_is_engine_crash() -> None:
    reason = assert_failed(run("exit_quietly"), FailureCode.ENGINE_CRASH)
    assert "exit code 0" in reason


def test_cancel_of_a_child_ignoring_the_stop_request_kills_it_after_the_grace() -> None:
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def on_progress(done: int, total: int) -> None:
        if done >= 3 and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    result = executor("loop_forever", cancel_grace_s=0.5).execute(
        {}, max_duration_s=30, on_progress=on_progress, cancel_event=cancel
    )
    assert result.status == RunStatus.CANCELLED
    assert result.failure_code is None
    assert result.output is None
    assert result.steps_done >= 3
    assert result.exit_code == -signal.SIGKILL
    assert time.monotonic() - cancelled_at[0] < 2.0, "killed once the grace is over"


def test_cooperative_cancel_of_a_real_run_returns_its_partial_output() -> None:
    cancel = threading.Event()
    cancelled_at: list[float] = []
    steps = 200_000

    def on_progress(done: int, total: int) -> None:
        if done >= 2_000 and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    result = Executor().execute(
        {"scenario": "urdf_rollout", "steps": steps, "run_id": "run_cancelled"},
        max_duration_s=120,
        on_progress=on_progress,
        cancel_event=cancel,
    )
    assert time.monotonic() - cancelled_at[0] < 2.0, "the whole cancel takes under 2 s"
    assert result.status == RunStatus.CANCELLED, result
    assert result.exit_code == 0, "the child stopped by itself"
    assert result.output is not None
    manifest, metrics = result.output["manifest"], result.output["metrics"]
    assert manifest["partial"] is True
    assert manifest["trajectory_sha256"] is None
    assert metrics["partial"] is True
    assert 2_000 <= result.steps_done < steps
    assert metrics["steps"] == manifest["steps_recorded"] == result.steps_done
    assert result.steps_total == steps
    assert result.replay_npz is not None
    arrays = replay.from_npz(result.replay_npz)
    assert len(arrays["t"]) == result.steps_done


def test_a_diverged_run_fails_with_its_output_up_to_the_divergence() -> None:
    spec = {
        "scenario": "push_slide",
        "steps": 480,
        "params": {"push_force_n": 50, "push_duration_s": 10},
    }
    result = Executor().execute(spec, max_duration_s=60)
    reason = assert_failed(result, FailureCode.DIVERGED)
    assert reason.startswith("step ")
    assert result.output is not None
    assert result.replay_npz is not None
    manifest, metrics = result.output["manifest"], result.output["metrics"]
    assert manifest["partial"] is True
    assert metrics["partial"] is True
    assert 0 < metrics["steps"] == manifest["steps_recorded"] == result.steps_done < 480
    arrays = replay.from_npz(result.replay_npz)
    assert len(arrays["t"]) == metrics["steps"]
    assert all(np.isfinite(column).all() for column in arrays.values())


def test_same_spec_same_trajectory_in_children_and_in_a_fresh_process() -> None:
    spec = {"scenario": "urdf_rollout", "steps": 120, "profile": "pseudo_reality_A", "seed": 7}
    runner = Executor()
    first = runner.execute(spec, max_duration_s=60)
    second = runner.execute(spec, max_duration_s=60)  # another child of the same server
    assert first.status == second.status == RunStatus.SUCCEEDED
    assert first.output is not None
    assert second.output is not None
    script = (
        "import json, sys\nfrom simengine import api\n"
        "print(api.run_spec(json.loads(sys.argv[1]))['trajectory_sha256'])\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    expected = fresh.stdout.strip().splitlines()[-1]
    assert first.output["trajectory_sha256"] == expected
    assert second.output["trajectory_sha256"] == expected
    assert first.replay_npz == second.replay_npz


def test_a_failing_progress_callback_kills_the_child_and_propagates() -> None:
    def on_progress(done: int, total: int) -> None:
        raise RuntimeError("caller bug")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="caller bug"):
        executor("loop_forever").execute({}, max_duration_s=30, on_progress=on_progress)
    assert time.monotonic() - started < 15, "must not wait for max_duration_s=30"


def test_execute_async_relays_progress_on_the_loop_and_cancels_the_child() -> None:
    async def scenario() -> tuple[ExecutionResult, list[bool]]:
        on_loop: list[bool] = []
        loop_thread = threading.get_ident()
        result = await executor("succeed").execute_async(
            {"steps": 5, "step_s": 0.05},
            max_duration_s=10,
            on_progress=lambda done, total: on_loop.append(threading.get_ident() == loop_thread),
        )
        task = asyncio.create_task(executor("loop_forever").execute_async({}, max_duration_s=30))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return result, on_loop

    forkserver.ensure_running()
    server = forkserver.server_pid()
    assert server is not None
    others = set(simulation_children(server))
    result, on_loop = asyncio.run(scenario())
    assert result.status == RunStatus.SUCCEEDED
    assert on_loop
    assert all(on_loop)
    deadline = time.monotonic() + 3  # the supervisor kills the child within a poll interval
    while set(simulation_children(server)) - others and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(simulation_children(server)) - others == set()


def test_execute_async_reaps_the_child_on_its_supervisor_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []
    start = threading.Thread.start
    reaped_on: list[str] = []
    reap = executor_module._reap

    def counted(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    def recorded(process: Any, *, grace_s: float) -> int | None:
        reaped_on.append(threading.current_thread().name)
        return reap(process, grace_s=grace_s)

    runner = executor("succeed")
    runner.warm_up()
    monkeypatch.setattr(threading.Thread, "start", counted)
    monkeypatch.setattr(executor_module, "_reap", recorded)
    result = asyncio.run(runner.execute_async({"steps": 3}, max_duration_s=10))
    assert result.status == RunStatus.SUCCEEDED
    # No thread but (at most) one kept supervisor thread: none started to reap the child.
    assert all(name.startswith("qers-sim-supervisor") for name in started)
    assert len(started) <= 1
    deadline = time.monotonic() + 5
    while not reaped_on and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(reaped_on) == 1
    assert reaped_on[0].startswith("qers-sim-supervisor")  # after the result, on its thread


def simulation_children(server: int) -> list[int]:
    """Live processes the fork server started, from /proc (zombies are not running)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[1]) == server and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_a_crashing_run_does_not_disturb_a_concurrent_one() -> None:
    results: dict[str, ExecutionResult] = {}

    def go(name: str, spec: dict[str, Any]) -> None:
        results[name] = run(name, spec)

    threads = [
        threading.Thread(target=go, args=("succeed", {"steps": 10, "step_s": 0.03})),
        threading.Thread(target=go, args=("segfault_midway", {})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["succeed"].status == RunStatus.SUCCEEDED
    assert results["segfault_midway"].failure_code == FailureCode.ENGINE_CRASH


def _urdf(tmp_path: Path, name: str, links: str) -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<robot name="r">{links}</robot>\n')
    return path


def test_real_pybullet_crash_on_two_root_links(tmp_path: Path) -> None:
    urdf = _urdf(
        tmp_path,
        "two_roots.urdf",
        f'<link name="a">{INERTIAL}</link>' * 1 + f'<link name="b">{INERTIAL}</link>',
    )
    result = run("pybullet_load", {"urdf": str(urdf)})
    reason = assert_failed(result, FailureCode.ENGINE_CRASH)
    assert "SIGSEGV" in reason
    assert "exactly one root link" in reason


def test_real_pybullet_hang_on_fifo_mesh_then_serves_a_good_run(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "mesh.obj")
    mesh = '<geometry><mesh filename="mesh.obj"/></geometry>'
    urdf = _urdf(
        tmp_path,
        "fifo.urdf",
        f'<link name="base">{INERTIAL}<visual>{mesh}</visual><collision>{mesh}</collision></link>',
    )
    started = time.monotonic()
    result = run("pybullet_load", {"urdf": str(urdf)}, max_duration_s=1.5)
    assert time.monotonic() - started < 10, "the hang is killed at max_duration_s"
    reason = assert_failed(result, FailureCode.TIMEOUT)
    assert "regular file" in reason
    good = _urdf(tmp_path, "good.urdf", f'<link name="base">{INERTIAL}</link>')
    after = run("pybullet_load", {"urdf": str(good)})
    assert after.status == RunStatus.SUCCEEDED, after
    assert after.output == {"metrics": {"body": 0}}


def test_lost_fork_server_fails_the_run_and_is_restarted() -> None:
    runner = executor("loop_forever")
    runner.warm_up()
    server = forkserver.server_pid()
    assert server is not None
    started = threading.Event()
    results: list[ExecutionResult] = []
    thread = threading.Thread(
        target=lambda: results.append(
            runner.execute({}, max_duration_s=20, on_progress=lambda d, t: started.set())
        )
    )
    thread.start()
    assert started.wait(10)
    os.kill(server, signal.SIGKILL)
    thread.join(10)
    assert_failed(results[0], FailureCode.WORKER_LOST)
    after = run("succeed")
    assert after.status == RunStatus.SUCCEEDED, after
    assert forkserver.server_pid() not in (None, server)


def test_engine_module_failing_on_import_is_internal_and_spares_the_fork_server() -> None:
    broken = Executor(ExecutorConfig(target="tests.handlers.isolation.executor_broken:run_spec"))
    server = forkserver.server_pid()
    if server is not None:
        os.kill(server, signal.SIGKILL)  # the next run starts a server preloading `broken`
    result = broken.execute({}, max_duration_s=10)
    reason = assert_failed(result, FailureCode.INTERNAL)
    assert "RuntimeError" in reason
    restarted = forkserver.server_pid()
    assert restarted != server
    assert run("succeed").status == RunStatus.SUCCEEDED
    assert forkserver.server_pid() == restarted


def test_api_process_never_imports_pybullet() -> None:
    script = f"""
import sys
from handlers.isolation.executor import Executor, ExecutorConfig
runner = Executor(ExecutorConfig(target="{TARGETS}:pybullet_load"))
import handlers.isolation.preload  # a stray import in the API process must not preload
result = runner.execute({{"urdf": "no/such.urdf"}}, max_duration_s=10)
assert result.status == "FAILED", result
print(",".join(m for m in sys.modules if m.split(".")[0] == "pybullet") or "none")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "none"


def test_the_pybullet_banner_stays_out_of_the_servers_output() -> None:
    script = f"""
from handlers.isolation.executor import Executor, ExecutorConfig
runner = Executor(ExecutorConfig(target="{TARGETS}:pybullet_load"))
runner.warm_up()
print("run:", runner.execute({{"urdf": "no/such.urdf"}}, max_duration_s=10).status)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["run: FAILED"]
    assert "pybullet" not in done.stderr


@pytest.mark.parametrize(
    ("exit_code", "code"),
    [
        (-signal.SIGSEGV, FailureCode.ENGINE_CRASH),
        (-signal.SIGBUS, FailureCode.ENGINE_CRASH),
        (-signal.SIGABRT, FailureCode.ENGINE_CRASH),
        (-signal.SIGILL, FailureCode.ENGINE_CRASH),
        (-signal.SIGXCPU, FailureCode.RESOURCE_LIMIT),
        (-signal.SIGKILL, FailureCode.RESOURCE_LIMIT),
        (-signal.SIGTERM, FailureCode.WORKER_LOST),
        (255, FailureCode.WORKER_LOST),
        (1, FailureCode.ENGINE_CRASH),
    ],
)
def test_exit_classification(exit_code: int, code: FailureCode) -> None:
    failure = from_exit(
        exit_code=exit_code, progress=Progress(), cpu_limit_s=10, memory_limit_bytes=MIB
    )
    assert failure.code == code


def test_scrub_paths_keeps_only_the_last_component() -> None:
    text = "cannot open '/srv/qers/assets/a/robot.urdf' (see /tmp/x/) or ./rel/path"
    assert scrub_paths(text) == "cannot open 'robot.urdf' (see <path>) or ./rel/path"


def _ready_spares(runner: Executor, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(runner.spares._ready) < count:
        assert time.monotonic() < deadline, "no warm spare got ready"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("scenario", "dr_episode"),
    [
        ("urdf_rollout", None),
        ("arm_reach", None),
        ("drop_test", 2),
        ("push_slide", 1),
        ("quadruped_stand", 3),
    ],
)
def test_a_warm_spare_runs_the_same_trajectory(scenario: str, dr_episode: int | None) -> None:
    spec = {
        "scenario": scenario,
        "steps": 60,
        "profile": "pseudo_reality_A",
        "seed": 3,
        "dr_episode": dr_episode,
    }
    plain = Executor().execute(spec, max_duration_s=60)
    runner = Executor(ExecutorConfig(spares=1))
    runner.warm_up()
    try:
        _ready_spares(runner, 1)
        warm = runner.execute(spec, max_duration_s=60)
        assert runner.spares.taken == 1
        runner.replenish()
        _ready_spares(runner, 1)  # a replacement
    finally:
        runner.spares.close()
    assert plain.status == warm.status == RunStatus.SUCCEEDED
    assert plain.output is not None
    assert warm.output is not None
    assert warm.output["trajectory_sha256"] == plain.output["trajectory_sha256"]
    assert warm.replay_npz == plain.replay_npz


def test_a_dead_spare_is_skipped() -> None:
    runner = Executor(ExecutorConfig(spares=1))
    runner.warm_up()
    try:
        _ready_spares(runner, 1)
        spare = runner.spares._ready[0]
        spare.process.kill()
        spare.process.join(5)
        result = runner.execute({"scenario": "drop_test", "steps": 20}, max_duration_s=60)
        assert result.status == RunStatus.SUCCEEDED
        assert runner.spares.taken == 0
    finally:
        runner.spares.close()
