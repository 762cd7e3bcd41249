"""The gap benchmark: a small suite run twice gives the same numbers bit for bit."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from handlers.app import create_app
from handlers.benchmarks import service as gapbench
from handlers.cli.main import app as cli
from handlers.isolation.executor import Executor
from handlers.runs.service import RunService
from handlers.settings import Settings

SUITE = gapbench.suite(
    scenarios=["arm_reach", "push_slide"], profiles=["pseudo_reality_A"], episodes=2, steps=80
)
# What may differ between two runs of one suite: identity, timing and the runs' ids.
VOLATILE = {"id", "created_at", "duration_s"}


def _numbers(report: dict[str, Any]) -> dict[str, Any]:
    kept = copy.deepcopy({k: v for k, v in report.items() if k not in VOLATILE})
    for profile in kept["profiles"]:
        for scenario in profile["scenarios"]:
            scenario.pop("run_ids")
    return kept


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(runs_dir=tmp_path_factory.mktemp("runs"), redis_url=None)


@pytest.fixture(scope="module")
def reports(settings: Settings) -> list[dict[str, Any]]:
    runs = RunService(settings=settings, executor=Executor())
    return [
        asyncio.run(gapbench.run_benchmark(SUITE, runs=runs, settings=settings)) for _ in range(2)
    ]


def test_a_rerun_gives_the_same_numbers(reports: list[dict[str, Any]]) -> None:
    first, second = reports
    assert first["id"] != second["id"]
    assert _numbers(first) == _numbers(second)
    assert first["suite"] == SUITE
    assert first["suite"]["name"] == "custom"
    assert first["engine"]["engine_version"]


def test_g_perf_comes_from_the_stored_runs(
    settings: Settings, reports: list[dict[str, Any]]
) -> None:
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    profile = reports[0]["profiles"][0]
    base, pseudo = [], []
    for scenario in profile["scenarios"]:
        assert len(scenario["run_ids"]) == 4  # 2 baseline + 2 pseudo-reality episodes
        for run_id in scenario["run_ids"]:
            run = client.get(f"/v1/runs/{run_id}").json()
            assert (run["origin"], run["scenario"]) == ("benchmark", scenario["scenario"])
            (base if run["profile"] == "default" else pseudo).append(run["metrics"]["task"])
    perf = profile["G_perf"]
    assert perf["baseline_success_rate"] == sum(t["success"] for t in base) / 4
    assert perf["pseudo_reality_success_rate"] == sum(t["success"] for t in pseudo) / 4
    expected = sum(t["score"] for t in base) / 4 - sum(t["score"] for t in pseudo) / 4
    assert perf["score_drop_abs"] == pytest.approx(expected, rel=1e-12)
    assert profile["G_dyn"]["nrmse_mean"] > 0
    assert profile["G_perc"]["value"] > 0


def test_latest_serves_the_newest_report(
    settings: Settings, reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    response = client.get("/api/benchmarks/latest")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == reports[1]["id"]
    empty = TestClient(create_app(Settings(runs_dir=tmp_path, redis_url=None)))
    missing = empty.get("/api/benchmarks/latest")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "qers bench gaps" in missing.json()["detail"]


def test_cli_runs_a_suite_and_stores_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    args = ["bench", "gaps", "--scenario", "push_slide", "--profile", "worn_actuators"]
    result = CliRunner().invoke(cli, [*args, "--episodes", "1", "--steps", "30"])
    assert result.exit_code == 0, result.output
    stored = gapbench.latest(Settings(runs_dir=tmp_path))
    assert stored is not None
    assert stored["id"] in result.output
    assert stored["suite"]["scenarios"] == ["push_slide"]
