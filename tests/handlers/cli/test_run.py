"""`qers run`, `qers scenarios`, `qers profiles` with the real engine; runs land in RUNS_DIR."""

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generated.models import RunCreate
from handlers.cli.main import app
from handlers.cli.run import ProgressExecutor
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService
from handlers.runs.store import RunStore
from handlers.settings import Settings


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def qers(runs_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {"RUNS_DIR": str(runs_dir), "QERS_RUNS_DIR": str(runs_dir)}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_id_of(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("run_id: ")]
    assert len(lines) == 1, stdout
    return lines[0].removeprefix("run_id: ")


def test_run_is_stored_and_listed_like_an_api_run(runs_dir: Path) -> None:
    code, out, err = qers(
        runs_dir,
        "run",
        "--scenario",
        "arm_reach",
        "--profile",
        "slippery_warehouse",
        "--steps",
        "48",
        "--seed",
        "1",
        "--tag",
        "cli-test",
    )
    assert code == 0, out + err
    assert "status: SUCCEEDED" in out
    assert "avg_step_time_ms" in out
    assert "task.success" in out
    run_id = run_id_of(out)
    assert (runs_dir / run_id / "run.json").is_file()
    store = RunStore(runs_dir)
    try:
        items, _ = store.list(limit=10, tag="cli-test")
        assert [item["id"] for item in items] == [run_id]
        run = store.get(run_id)
    finally:
        store.close()
    assert run["origin"] == "cli"
    assert run["status"] == "SUCCEEDED"
    assert run["profile"] == "slippery_warehouse"
    assert run["config"]["seed"] == 1
    assert run["progress"]["steps_done"] == 48


def test_run_with_an_example_urdf(runs_dir: Path) -> None:
    code, out, err = qers(
        runs_dir,
        "run",
        "--scenario",
        "urdf_rollout",
        "--urdf-path",
        "examples/simple_robot.urdf",
        "--steps",
        "24",
        "--dt",
        "0.002",
    )
    assert code == 0, out + err
    store = RunStore(runs_dir)
    try:
        run = store.get(run_id_of(out))
    finally:
        store.close()
    assert run["config"]["urdf_path"] == "examples/simple_robot.urdf"
    assert run["config"]["dt"] == 0.002


def test_failed_run_exits_1_with_its_failure_code(runs_dir: Path) -> None:
    code, out, _ = qers(
        runs_dir, "run", "--scenario", "arm_reach", "--steps", "1000000", "--max-duration-s", "0.5"
    )
    assert code == 1, out
    assert "status: FAILED" in out
    assert "failure_code: TIMEOUT" in out
    assert (runs_dir / run_id_of(out) / "run.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--scenario", "arm_reach", "--profile", "nope"], "unknown profile 'nope'"),
        (["--scenario", "arm_reach", "--steps", "0"], "/options/steps"),
        (["--scenario", "arm_reach", "--dt", "nan"], "/options/dt"),
        (["--scenario", "arm_reach", "--urdf-path", "examples/simple_robot.urdf"], "urdf_path"),
    ],
)
def test_invalid_options_exit_2_and_store_nothing(
    runs_dir: Path, args: list[str], message: str
) -> None:
    code, out, err = qers(runs_dir, "run", *args)
    assert code == 2, out + err
    assert message in err
    runs = [p for p in runs_dir.glob("run_*") if p.is_dir()] if runs_dir.exists() else []
    assert runs == []


def test_scenarios_and_profiles_are_listed(runs_dir: Path) -> None:
    code, out, _ = qers(runs_dir, "scenarios")
    assert code == 0
    for name in ("arm_reach", "drop_test", "push_slide", "quadruped_stand", "urdf_rollout"):
        assert name in out
    assert "960" in out  # arm_reach's default steps
    code, out, _ = qers(runs_dir, "profiles")
    assert code == 0
    for name in ("default", "slippery_warehouse", "pseudo_reality_A"):
        assert name in out


def test_progress_reaches_the_bar_through_the_executor_hook(runs_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    executor = ProgressExecutor(lambda done, total: seen.append((done, total)))
    service = RunService(settings=Settings(runs_dir=runs_dir), executor=executor)
    body = RunCreate.model_validate({"scenario": "drop_test", "options": {"steps": 60}})
    run = asyncio.run(service.create(RunRequest.from_run_create(body), origin="cli"))
    assert run["status"] == "SUCCEEDED"
    assert seen, "no progress reported"
    assert seen[-1] == (60, 60)
