"""`/api/sim` end to end with the real engine: a job is a run with origin `sim`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from generated.models import JobStatus, RunStatus
from handlers.app import create_app
from handlers.runs.service import RunService
from handlers.settings import Settings
from handlers.sim.api import SimApi

STEPS = 80
MISSING = "run_000000000000000000000000"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("runs"), redis_url=None)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def job(client: TestClient) -> dict[str, Any]:
    body = {"scenario": "drop_test", "steps": STEPS, "seed": 2, "tags": ["sim-api"]}
    response = client.post("/api/sim/run", json=body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_start_returns_the_finished_job(client: TestClient, job: dict[str, Any]) -> None:
    assert job["job_id"] == job["run_id"]
    assert job["status"] == "SUCCEEDED"
    assert job["backend"] == "embedded"
    assert (job["scenario"], job["profile"]) == ("drop_test", "default")
    assert job["progress"] == {"steps_done": STEPS, "steps_total": STEPS, "fraction": 1.0}
    assert job["failure_code"] is None
    assert job["metrics"]["steps"] == STEPS
    run = client.get(f"/v1/runs/{job['run_id']}").json()
    assert run["origin"] == "sim"
    assert run["tags"] == ["sim-api"]
    assert run["config"]["seed"] == 2
    for key in ("created_at", "queued_at", "started_at", "finished_at", "metrics", "webhook"):
        assert job[key] == run[key]


def test_status_is_the_same_job(client: TestClient, job: dict[str, Any]) -> None:
    response = client.get(f"/api/sim/{job['job_id']}/status")
    assert response.status_code == 200, response.text
    assert response.json() == job


def test_metrics_both_paths(client: TestClient, job: dict[str, Any]) -> None:
    by_job = client.get(f"/api/sim/{job['job_id']}/metrics").json()
    by_run = client.get(f"/api/sim/metrics/{job['run_id']}").json()
    assert by_job == by_run
    assert by_job["history"] is None
    assert by_job["steps"] == STEPS
    history = client.get(f"/api/sim/{job['job_id']}/metrics", params={"history": True}).json()
    assert history["history"] is not None


def test_report_both_paths(client: TestClient, job: dict[str, Any]) -> None:
    by_job = client.get(f"/api/sim/{job['job_id']}/report").json()
    by_run = client.get(f"/api/sim/report/{job['run_id']}").json()
    assert by_job == by_run
    assert by_job["run"]["id"] == job["run_id"]
    assert by_job["replay"]["steps_recorded"] == STEPS


@pytest.mark.parametrize(("stride", "rows"), [(1, STEPS), (10, STEPS // 10)])
def test_replay_of_a_sim_job(
    client: TestClient, job: dict[str, Any], stride: int, rows: int
) -> None:
    bundle = client.get(f"/v1/runs/{job['run_id']}/replay", params={"stride": stride}).json()
    assert bundle["rows"] == rows
    assert len(bundle["columns"]["base_position"]) == rows


def test_step_first_last_and_out_of_range(client: TestClient, job: dict[str, Any]) -> None:
    def step(index: int) -> Any:
        return client.get("/api/sim/step", params={"run_id": job["run_id"], "step_index": index})

    assert step(0).json()["step"]["step_index"] == 0
    last = step(STEPS - 1).json()
    assert last["steps_recorded"] == STEPS
    assert last["step"]["step_index"] == STEPS - 1
    problem = _problem(step(STEPS), 422)
    assert problem["errors"][0]["pointer"] == "/step_index"
    assert f"0..{STEPS - 1}" in problem["errors"][0]["reason"]


def test_cancel_a_finished_job_is_409(client: TestClient, job: dict[str, Any]) -> None:
    _problem(client.post(f"/api/sim/{job['job_id']}/cancel"), 409)


def test_unknown_job_is_404(client: TestClient) -> None:
    for path in ("status", "metrics", "report"):
        _problem(client.get(f"/api/sim/{MISSING}/{path}"), 404)
    _problem(client.post(f"/api/sim/{MISSING}/cancel"), 404)
    _problem(client.get(f"/api/sim/metrics/{MISSING}"), 404)
    _problem(client.get(f"/api/sim/report/{MISSING}"), 404)


def test_sim_job_appears_in_api_runs_by_origin(client: TestClient, job: dict[str, Any]) -> None:
    v1 = client.post("/v1/runs", json={"scenario": "drop_test", "options": {"steps": 50}}).json()
    sim = client.get("/api/runs", params={"origin": "sim"}).json()["items"]
    assert job["run_id"] in {r["id"] for r in sim}
    assert all(r["origin"] == "sim" for r in sim)
    everything = {r["id"] for r in client.get("/api/runs").json()["items"]}
    assert {job["run_id"], v1["id"]} <= everything
    only_v1 = {r["id"] for r in client.get("/api/runs", params={"origin": "v1"}).json()["items"]}
    assert v1["id"] in only_v1
    assert job["run_id"] not in only_v1


def test_bad_requests_answer_honestly_and_store_nothing(client: TestClient) -> None:
    before = client.get("/api/runs", params={"limit": 1000}).json()["items"]
    assert (
        client.post("/api/sim/run", json={"scenario": "drop_test", "steps": 0}).status_code == 422
    )
    unknown = {"scenario": "drop_test", "profile": "nope"}
    problem = _problem(client.post("/api/sim/run", json=unknown), 422)
    assert problem["errors"][0]["pointer"] == "/profile"
    hook = {"scenario": "drop_test", "webhook_url": "http://192.168.1.20/hook"}
    problem = _problem(client.post("/api/sim/run", json=hook), 422)
    assert problem["errors"][0]["pointer"] == "/webhook_url"
    assert "private" in problem["errors"][0]["reason"]
    project = {"scenario": "drop_test", "project_id": "prj_0123456789abcdef01234567"}
    _problem(client.post("/api/sim/run", json=project), 404)
    too_long = {"scenario": "drop_test", "max_duration_s": 86400}
    problem = _problem(client.post("/api/sim/run", json=too_long), 422)
    assert problem["errors"][0]["pointer"] == "/max_duration_s"
    assert client.get("/api/runs", params={"limit": 1000}).json()["items"] == before


def test_urdf_rollout_job(client: TestClient) -> None:
    body = {"urdf_path": "examples/simple_robot.urdf", "steps": 60}
    job = client.post("/api/sim/run", json=body).json()
    assert job["status"] == "SUCCEEDED"
    assert job["scenario"] == "urdf_rollout"
    report = client.get(f"/api/sim/report/{job['run_id']}").json()
    assert report["run"]["config"]["urdf_path"] == "examples/simple_robot.urdf"
    assert report["replay"]["urdf_sha256"] is not None


@pytest.mark.parametrize("status", list(RunStatus))
def test_job_status_mirrors_run_status(status: RunStatus) -> None:
    run = {
        "id": MISSING,
        "status": status.value,
        "scenario": "drop_test",
        "profile": "default",
        "progress": {"steps_done": 0, "steps_total": 10, "fraction": 0.0},
        "created_at": "2026-01-15T10:00:00Z",
        "queued_at": None,
        "started_at": None,
        "finished_at": None,
        "failure_code": None,
        "failure_reason": None,
        "metrics": None,
        "webhook": None,
    }
    handler = SimApi(RunService(settings=Settings(), executor=None))  # type: ignore[arg-type]
    job = handler._job(run)
    assert job.status == JobStatus(status.value)
    assert (job.job_id, job.run_id) == (MISSING, MISSING)


def test_job_failed_before_recording(client: TestClient) -> None:
    body = {"scenario": "quadruped_stand", "steps": 1_000_000, "max_duration_s": 0.5}
    job = client.post("/api/sim/run", json=body).json()
    assert job["status"] == "FAILED"
    assert job["failure_code"] == "TIMEOUT"
    assert job["failure_reason"]
    assert job["finished_at"] is not None
    status = client.get(f"/api/sim/{job['job_id']}/status").json()
    assert status == job
    _problem(client.get(f"/v1/runs/{job['run_id']}/replay"), 409)
    _problem(client.get("/api/sim/step", params={"run_id": job["run_id"], "step_index": 0}), 409)
    _problem(client.get(f"/api/sim/{job['job_id']}/metrics"), 409)
    report = client.get(f"/api/sim/{job['job_id']}/report").json()
    assert report["run"]["status"] == "FAILED"
    assert report["metrics"] is None
    assert report["replay"] is None
    assert report["profile"]["name"] == "default"
    assert report["warnings"][0].startswith("run ended FAILED after")
