"""Queued mode against the real Redis and real `qers worker` processes.

Each test gets a fresh DB (tests/redisutil.DB_QUEUE), its own RUNS_DIR and the API in
queued mode (TestClient with its lifespan, so the reconciler runs).
"""

from __future__ import annotations

import json
import signal
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.names import RUN_JOB
from handlers.settings import Settings
from tests.handlers.queued import RedisServer, start_worker, stop, wait_for, worker_env
from tests.redisutil import DB_QUEUE, flush, redis_url

pytestmark = pytest.mark.slow
FINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
SHORT = {"scenario": "drop_test", "options": {"steps": 120, "seed": 5, "tags": ["queued"]}}
# Long enough to be caught RUNNING; bounded by its own max_duration_s.
LONG = {"scenario": "drop_test", "options": {"steps": 1_000_000, "max_duration_s": 60}}


@pytest.fixture
def url() -> Iterator[str]:
    url = redis_url(DB_QUEUE)
    flush(url)
    yield url
    flush(url)


def _settings(url: str, runs_dir: Path) -> Settings:
    return Settings(
        runs_dir=runs_dir,
        redis_url=url,
        worker_heartbeat_s=0.5,
        worker_lost_after_s=3,
        reconcile_interval_s=1,
    )


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def client(url: str, runs_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(url, runs_dir)), raise_server_exceptions=False) as c:
        yield c


def _get(client: TestClient, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/v1/runs/{run['id']}"
    return run


def _in_status(client: TestClient, run_id: str, statuses: set[str]) -> dict[str, Any] | None:
    run = _get(client, run_id)
    return run if run["status"] in statuses else None


def test_queued_run_is_executed_by_a_worker(client: TestClient, url: str, runs_dir: Path) -> None:
    run = _create(client, SHORT)
    assert run["status"] == "QUEUED"
    assert run["queued_at"] is not None
    assert run["started_at"] is None
    worker = start_worker(worker_env(url, runs_dir), burst=True)
    try:
        assert worker.wait(timeout=120) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        stop(worker)
    done = _get(client, run["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["started_at"] >= done["queued_at"] >= done["created_at"]
    assert done["progress"]["steps_done"] == 120
    assert done["artifacts"]["metrics"]
    assert done["artifacts"]["replay"]
    # List, detail and status agree.
    listed = client.get("/v1/runs", params={"tag": "queued"}).json()["items"]
    assert listed == [done]
    job = client.get(f"/api/sim/{run['id']}/status").json()
    assert (job["status"], job["backend"]) == ("SUCCEEDED", "rq")
    assert client.get(f"/v1/runs/{run['id']}/metrics").json()["steps"] == 120


def test_sim_run_answers_202_with_the_job(client: TestClient) -> None:
    response = client.post("/api/sim/run", json={"scenario": "drop_test", "steps": 10})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "QUEUED"
    assert job["backend"] == "rq"
    assert response.headers["Location"] == f"/api/sim/{job['job_id']}/status"


def test_cancel_of_a_queued_run_is_immediate_and_it_never_runs(
    client: TestClient, url: str, runs_dir: Path
) -> None:
    run = _create(client, SHORT)
    response = client.post(f"/v1/runs/{run['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED"
    worker = start_worker(worker_env(url, runs_dir), burst=True)
    try:
        worker.wait(timeout=120)
    finally:
        stop(worker)
    after = _get(client, run["id"])
    assert after["status"] == "CANCELLED"
    assert after["started_at"] is None
    assert after["failure_code"] is None
    assert client.post(f"/v1/runs/{run['id']}/cancel").status_code == 409


def test_cancel_of_a_running_run_stops_it_within_two_seconds(
    client: TestClient, url: str, runs_dir: Path
) -> None:
    worker = start_worker(worker_env(url, runs_dir))
    try:
        run = _create(client, LONG)
        wait_for(lambda: _in_status(client, run["id"], {"RUNNING"}), timeout_s=60, what="RUNNING")
        moving = wait_for(
            lambda: _get(client, run["id"])["progress"]["steps_done"] > 0,
            timeout_s=10,
            what="progress while RUNNING",
        )
        assert moving
        asked = time.monotonic()
        response = client.post(f"/v1/runs/{run['id']}/cancel")
        assert response.status_code == 200, response.text
        cancelled = wait_for(
            lambda: _in_status(client, run["id"], FINAL), timeout_s=10, what="a final state"
        )
        took = time.monotonic() - asked
    finally:
        stop(worker)
    assert cancelled["status"] == "CANCELLED", cancelled
    assert took < 2.5, f"cancel took {took:.2f} s"  # the product promise, with slack
    assert cancelled["progress"]["steps_done"] < 1_000_000
    if cancelled["artifacts"]["metrics"]:
        assert cancelled["artifacts"]["partial"] is True


def test_a_killed_worker_leaves_its_run_failed_worker_lost(
    client: TestClient, url: str, runs_dir: Path
) -> None:
    worker = start_worker(worker_env(url, runs_dir))
    try:
        run = _create(client, LONG)
        wait_for(lambda: _in_status(client, run["id"], {"RUNNING"}), timeout_s=60, what="RUNNING")
        stop(worker, signal.SIGKILL)  # the worker and its horse, as a lost host would
        lost = wait_for(
            lambda: _in_status(client, run["id"], FINAL), timeout_s=60, what="WORKER_LOST"
        )
    finally:
        stop(worker)
    assert (lost["status"], lost["failure_code"]) == ("FAILED", "WORKER_LOST"), lost
    assert "worker" in lost["failure_reason"]
    assert client.get(f"/v1/runs/{run['id']}/report").status_code in (200, 404)


def test_timeout_fails_the_run_in_queued_mode(client: TestClient, url: str, runs_dir: Path) -> None:
    body = {"scenario": "drop_test", "options": {"steps": 1_000_000, "max_duration_s": 1}}
    run = _create(client, body)
    worker = start_worker(worker_env(url, runs_dir), burst=True)
    try:
        worker.wait(timeout=120)
    finally:
        stop(worker)
    done = _get(client, run["id"])
    assert (done["status"], done["failure_code"]) == ("FAILED", "TIMEOUT"), done


def test_redis_outage_is_a_503_and_the_service_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    app = create_app(_settings(server.url, tmp_path / "runs"))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.post("/v1/runs", json=SHORT).status_code == 202
            server.stop()
            response = client.post("/v1/runs", json=SHORT)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["Retry-After"]) >= 1
            assert "Redis" in response.json()["detail"]
            # Nothing half-created: the store still holds the one run.
            assert len(client.get("/v1/runs").json()["items"]) == 1
            health = client.get("/v1/health").json()
            assert health["queue"]["ok"] is False
            assert health["status"] == "degraded"
            server.start()
            assert client.post("/v1/runs", json=SHORT).status_code == 202
            assert len(client.get("/v1/runs").json()["items"]) == 2
            assert client.get("/v1/health").json()["queue"]["ok"] is True
    finally:
        server.stop()


def test_jobs_use_the_json_serializer(client: TestClient, url: str) -> None:
    run = _create(client, SHORT)
    raw = redis.Redis.from_url(url).hget(f"rq:job:{run['id']}", "data")
    assert raw is not None
    function, instance, args, kwargs = json.loads(zlib.decompress(raw))  # JSON, not a pickle
    assert (function, instance, args[0], kwargs) == (RUN_JOB, None, run["id"], {})
