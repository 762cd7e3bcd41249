"""`/api/sim/batch` and `/api/sim/compare` end to end with the real engine (embedded mode)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.settings import Settings
from simengine.stats import t_quantile

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seed"
SEED_BATCH = json.loads((SEED / "batch_request.json").read_text(encoding="utf-8"))
SEED_COMPARE = json.loads((SEED / "compare_request.json").read_text(encoding="utf-8"))
MISSING_BATCH = "bat_000000000000000000000000"
SMALL = {"scenario": "drop_test", "profiles": ["default"], "steps": 20, "seed": 3}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def client(runs_dir: Path) -> TestClient:
    settings = Settings(runs_dir=runs_dir, redis_url=None)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _post_batch(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/sim/batch", json=body)
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/api/sim/batch/{report['id']}"
    return report


@pytest.fixture(scope="module")
def batch(client: TestClient) -> dict[str, Any]:
    return _post_batch(client, SEED_BATCH)


@pytest.fixture(scope="module")
def again(client: TestClient, batch: dict[str, Any]) -> dict[str, Any]:
    """The same request once more: a new batch that must reproduce the first."""
    return _post_batch(client, SEED_BATCH)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _run(client: TestClient, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def _batch_files(runs_dir: Path) -> set[str]:
    folder = runs_dir / ".batches"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_seed_batch_runs_every_profile_and_episode(batch: dict[str, Any]) -> None:
    assert batch["status"] == "SUCCEEDED"
    assert batch["counts"] == {
        "total": 9,
        "created": 0,
        "queued": 0,
        "running": 0,
        "succeeded": 9,
        "failed": 0,
        "cancelled": 0,
    }
    spec = batch["spec"]
    assert spec["profiles"] == SEED_BATCH["profiles"]
    assert (spec["steps"], spec["dt"], spec["seed"]) == (50, 0.01, 42)
    assert spec["scenario"] == "urdf_rollout"
    assert spec["baseline_profile"] == "default"
    pairs = [(c["profile"], c["episode"]) for c in batch["children"]]
    assert pairs == [(p, e) for p in SEED_BATCH["profiles"] for e in range(3)]
    assert batch["started_at"] <= batch["finished_at"]
    for result in batch["profiles"]:
        assert (result["episodes"], result["succeeded"], result["failed"]) == (3, 3, 0)


def test_children_are_runs_in_the_run_list(client: TestClient, batch: dict[str, Any]) -> None:
    response = client.get("/api/runs", params={"batch_id": batch["id"], "limit": 100})
    assert response.status_code == 200, response.text
    listed = {run["id"]: run for run in response.json()["items"]}
    assert set(listed) == {c["run_id"] for c in batch["children"]}
    for child in batch["children"]:
        run = listed[child["run_id"]]
        assert (run["origin"], run["batch_id"]) == ("batch", batch["id"])
        assert (run["profile"], run["episode"]) == (child["profile"], child["episode"])
        assert run["dr_sample"] == child["dr_sample"]
        assert run["config"]["urdf_path"] == "examples/simple_robot.urdf"


def test_dr_samples_follow_each_profile_range(batch: dict[str, Any]) -> None:
    by_profile: dict[str, list[dict[str, float]]] = {}
    for child in batch["children"]:
        by_profile.setdefault(child["profile"], []).append(child["dr_sample"])
    assert by_profile["default"] == [{}, {}, {}]  # nothing to randomise
    for name in ("slippery_warehouse", "pseudo_reality_A"):
        samples = by_profile[name]
        assert all(samples)
        assert len({json.dumps(s, sort_keys=True) for s in samples}) == 3
    assert 1 <= by_profile["pseudo_reality_A"][0]["actuator_latency_steps"] <= 3


def test_same_request_reproduces_samples_and_trajectories(
    client: TestClient, batch: dict[str, Any], again: dict[str, Any]
) -> None:
    assert again["id"] != batch["id"]
    first = [(c["profile"], c["episode"], c["dr_sample"]) for c in batch["children"]]
    second = [(c["profile"], c["episode"], c["dr_sample"]) for c in again["children"]]
    assert first == second
    for a, b in zip(batch["children"], again["children"], strict=True):
        run_a, run_b = _run(client, a["run_id"]), _run(client, b["run_id"])
        assert run_a["trajectory_sha256"] == run_b["trajectory_sha256"]
    for a, b in zip(batch["profiles"], again["profiles"], strict=True):
        assert a["metrics"]["score"] == b["metrics"]["score"]


def test_profile_statistics_are_those_of_the_child_metrics(
    client: TestClient, batch: dict[str, Any]
) -> None:
    result = batch["profiles"][2]
    scores = []
    for run_id in result["run_ids"]:
        metrics = client.get(f"/v1/runs/{run_id}/metrics").json()
        scores.append(metrics["task"]["score"])
    stats = result["metrics"]["score"]
    mean = sum(scores) / 3
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / 2)
    half = t_quantile(0.975, 2) * std / math.sqrt(3)
    assert stats["n"] == 3
    assert stats["mean"] == pytest.approx(mean, rel=1e-12)
    assert stats["std"] == pytest.approx(std, rel=1e-9)
    assert (stats["min"], stats["max"]) == (min(scores), max(scores))
    assert stats["ci95_low"] == pytest.approx(mean - half, rel=1e-9)
    assert stats["ci95_high"] == pytest.approx(mean + half, rel=1e-9)
    assert {"steps", "avg_step_time_ms", "energy_j", "joint_tracking_rmse_rad"} <= set(
        result["metrics"]
    )


def test_get_batch_reports_the_same(client: TestClient, batch: dict[str, Any]) -> None:
    response = client.get(f"/api/sim/batch/{batch['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == batch


def test_evaluation_drops_follow_the_declared_direction(
    client: TestClient, batch: dict[str, Any]
) -> None:
    response = client.get(f"/api/sim/batch/{batch['id']}/evaluate")
    assert response.status_code == 200, response.text
    evaluation = response.json()
    assert evaluation["complete"] is True
    assert evaluation["status"] == "SUCCEEDED"
    assert (evaluation["baseline_profile"], evaluation["ranking_metric"]) == ("default", "score")
    directions = {m["key"]: m["direction"] for m in evaluation["metrics"]}
    assert directions["score"] == "higher_is_better"
    assert directions["joint_tracking_rmse_rad"] == "lower_is_better"
    means = {p["profile"]: p["metrics"] for p in batch["profiles"]}
    base = means["default"]
    for item in evaluation["profiles"]:
        own = means[item["profile"]]
        score = item["drops"]["score"]
        assert score["drop_abs"] == base["score"]["mean"] - own["score"]["mean"]
        rmse = item["drops"]["joint_tracking_rmse_rad"]
        expected = own["joint_tracking_rmse_rad"]["mean"] - base["joint_tracking_rmse_rad"]["mean"]
        assert rmse["drop_abs"] == expected
        assert rmse["drop_rel"] == expected / abs(base["joint_tracking_rmse_rad"]["mean"])
        assert item["episodes_used"] == 3
    baseline_item = evaluation["profiles"][0]
    assert baseline_item["rank"] is None
    assert all(d["drop_abs"] == 0 for d in baseline_item["drops"].values())
    others = evaluation["profiles"][1:]
    by_drop = sorted(others, key=lambda p: -p["drops"]["score"]["drop_abs"])
    assert evaluation["ranking"] == [p["profile"] for p in by_drop]
    assert [p["rank"] for p in by_drop] == [1, 2]
    width = evaluation["gap_widths"]["score"]
    profile_means = [m["score"]["mean"] for m in means.values()]
    assert width["across_profiles"] == max(profile_means) - min(profile_means)
    spreads = [m["score"]["max"] - m["score"]["min"] for m in means.values()]
    assert width["across_episodes"] == max(spreads)


def test_unknown_batch_is_404(client: TestClient) -> None:
    for path in (f"/api/sim/batch/{MISSING_BATCH}", f"/api/sim/batch/{MISSING_BATCH}/evaluate"):
        problem = _problem(client.get(path), 404)
        assert MISSING_BATCH in problem["detail"]


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"profiles": ["default", "pseudo_reality_A", "default"]}, "/profiles/2", "duplicate"),
        ({"baseline_profile": "worn_actuators"}, "/baseline_profile", "must be one of"),
        ({"profiles": ["default", "atlantis"]}, "/profiles/1", "valid: default"),
        ({"scenario": "juggling"}, "/scenario", "valid: arm_reach"),
        ({"params": {"amplitude_frac": 7}}, "/params/amplitude_frac", "0..1"),
        ({"urdf_path": "../etc/robot.urdf"}, "/urdf_path", ""),
    ],
)
def test_rejected_batch_names_the_field_and_stores_nothing(
    client: TestClient, runs_dir: Path, change: dict[str, Any], pointer: str, words: str
) -> None:
    before_files = _batch_files(runs_dir)
    before_runs = client.get("/api/runs", params={"limit": 1000}).json()["items"]
    problem = _problem(client.post("/api/sim/batch", json={**SEED_BATCH, **change}), 422)
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert words in problem["errors"][0]["reason"]
    assert _batch_files(runs_dir) == before_files
    assert client.get("/api/runs", params={"limit": 1000}).json()["items"] == before_runs


def test_failed_children_are_reported_with_their_codes(client: TestClient) -> None:
    body = {**SMALL, "profiles": ["default", "pseudo_reality_A"], "max_duration_s": 0.001}
    report = _post_batch(client, body)
    assert report["status"] == "FAILED"
    assert report["counts"]["failed"] == report["counts"]["total"] == 2
    assert {c["failure_code"] for c in report["children"]} == {"TIMEOUT"}
    assert all(c["failure_reason"] for c in report["children"])
    assert all(p["metrics"] == {} and p["failed"] == 1 for p in report["profiles"])
    problem = _problem(client.get(f"/api/sim/batch/{report['id']}/evaluate"), 409)
    assert "baseline" in problem["detail"]


def test_idempotency_key_replays_the_batch(client: TestClient) -> None:
    headers = {"Idempotency-Key": "batch-key-1"}
    first = client.post("/api/sim/batch", json=SMALL, headers=headers)
    assert first.status_code == 201, first.text
    replay = client.post("/api/sim/batch", json=SMALL, headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    other = client.post("/api/sim/batch", json={**SMALL, "seed": 4}, headers=headers)
    _problem(other, 422)


def test_compare_values_and_pairwise_drops(client: TestClient, batch: dict[str, Any]) -> None:
    ids = [batch["children"][0]["run_id"], batch["children"][8]["run_id"]]
    ids.append(batch["children"][4]["run_id"])
    response = client.post("/api/sim/compare", json={"run_ids": ids, "metric_key": "energy_j"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["direction"] == "lower_is_better"
    values = []
    for entry, run_id in zip(result["runs"], ids, strict=True):
        run = _run(client, run_id)
        assert (entry["run_id"], entry["profile"]) == (run_id, run["profile"])
        assert entry["value"] == run["metrics"]["task"]["energy_j"]
        values.append(entry["value"])
    for i, vi in enumerate(values):
        for j, vj in enumerate(values):
            assert result["drop_abs"][i][j] == vj - vi  # lower is better: more energy is worse
            assert result["drop_rel"][i][j] == (vj - vi) / abs(vi)
    score = client.post("/api/sim/compare", json={"run_ids": ids, "metric_key": "score"}).json()
    assert score["direction"] == "higher_is_better"
    s = [e["value"] for e in score["runs"]]
    assert score["drop_abs"][0][1] == s[0] - s[1]


def test_compare_seed_body_and_errors(client: TestClient, batch: dict[str, Any]) -> None:
    problem = _problem(client.post("/api/sim/compare", json=SEED_COMPARE), 404)
    assert "run_id_1" in problem["detail"]
    ids = [c["run_id"] for c in batch["children"][:2]]
    seeded = client.post("/api/sim/compare", json={**SEED_COMPARE, "run_ids": ids})
    assert seeded.status_code == 200, seeded.text
    assert seeded.json()["metric_key"] == "avg_step_time_ms"
    unknown = client.post("/api/sim/compare", json={"run_ids": ids, "metric_key": "lap_time_s"})
    error = _problem(unknown, 422)["errors"][0]
    assert error["pointer"] == "/metric_key"
    assert "avg_step_time_ms" in error["reason"]
    assert "joint_tracking_rmse_rad" in error["reason"]
    one = client.post("/api/sim/compare", json={"run_ids": ids[:1], "metric_key": "score"})
    assert _problem(one, 422)["errors"][0]["pointer"] == "/run_ids"


def test_max_concurrency_one_runs_the_children_one_after_another(client: TestClient) -> None:
    body = {**SMALL, "profiles": ["default", "worn_actuators"], "dr_episodes_per_profile": 2}
    report = _post_batch(client, {**body, "max_concurrency": 1})
    assert report["spec"]["max_concurrency"] == 1
    runs = [_run(client, c["run_id"]) for c in report["children"]]
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] <= after["started_at"]
