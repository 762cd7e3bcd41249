"""Batches in queued mode: one job per child, executed by real `qers worker` processes.

Uses its own Redis DB (tests/redisutil.DB_BATCH). The same request run in embedded mode
must give the same DR samples and trajectories: the children are ordinary runs, wherever
they execute.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.batch.service import BATCH_FOLDER
from handlers.errors import ServiceUnavailable
from handlers.queue.client import RunQueue
from handlers.settings import Settings
from tests.handlers.queued import start_worker, stop, worker_env
from tests.redisutil import DB_BATCH, flush, redis_url

pytestmark = pytest.mark.slow
BODY = {
    "urdf_path": "examples/simple_robot.urdf",
    "profiles": ["default", "pseudo_reality_A"],
    "steps": 30,
    "dt": 0.01,
    "seed": 7,
    "dr_episodes_per_profile": 2,
}


@pytest.fixture
def url() -> Iterator[str]:
    url = redis_url(DB_BATCH)
    flush(url)
    yield url
    flush(url)


def _trajectories(client: TestClient, report: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for child in report["children"]:
        run = client.get(f"/v1/runs/{child['run_id']}").json()
        out.append(
            (child["profile"], child["episode"], child["dr_sample"], run["trajectory_sha256"])
        )
    return out


def test_queued_batch_runs_one_job_per_child(url: str, tmp_path: Path) -> None:
    runs_dir = tmp_path / "queued"
    settings = Settings(runs_dir=runs_dir, redis_url=url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/api/sim/batch", json=BODY)
        assert response.status_code == 202, response.text
        queued = response.json()
        assert response.headers["Location"] == f"/api/sim/batch/{queued['id']}"
        assert queued["status"] == "QUEUED"
        assert queued["counts"]["queued"] == queued["counts"]["total"] == 4
        workers = [start_worker(worker_env(url, runs_dir), burst=True) for _ in range(2)]
        try:
            for worker in workers:
                assert worker.wait(timeout=120) == 0
        finally:
            for worker in workers:
                stop(worker)
        done = client.get(f"/api/sim/batch/{queued['id']}").json()
        assert done["status"] == "SUCCEEDED", done["children"]
        assert done["counts"]["succeeded"] == 4
        assert done["finished_at"] is not None
        evaluation = client.get(f"/api/sim/batch/{queued['id']}/evaluate")
        assert evaluation.status_code == 200, evaluation.text
        assert evaluation.json()["complete"] is True
        queued_runs = _trajectories(client, done)
    embedded = Settings(runs_dir=tmp_path / "embedded", redis_url=None)
    with TestClient(create_app(embedded), raise_server_exceptions=False) as client:
        response = client.post("/api/sim/batch", json=BODY)
        assert response.status_code == 201, response.text
        assert _trajectories(client, response.json()) == queued_runs


def test_queued_batch_keeps_to_max_concurrency(url: str, tmp_path: Path) -> None:
    runs_dir = tmp_path / "lanes"
    settings = Settings(runs_dir=runs_dir, redis_url=url)
    body = {**BODY, "max_concurrency": 1}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/api/sim/batch", json=body)
        assert response.status_code == 202, response.text
        batch_id = response.json()["id"]
        workers = [start_worker(worker_env(url, runs_dir), burst=True) for _ in range(2)]
        try:
            for worker in workers:
                assert worker.wait(timeout=120) == 0
        finally:
            for worker in workers:
                stop(worker)
        done = client.get(f"/api/sim/batch/{batch_id}").json()
        assert done["counts"]["succeeded"] == 4, done["children"]
        runs = [client.get(f"/v1/runs/{c['run_id']}").json() for c in done["children"]]
    spans = sorted((run["started_at"], run["finished_at"]) for run in runs)
    for (_, finished), (started, _) in itertools.pairwise(spans):
        assert finished <= started, "two children of a one-lane batch overlapped"


def test_redis_failing_midway_withdraws_the_whole_batch(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault injected into the real queue: the third child's enqueue finds Redis gone.
    real_enqueue = RunQueue.enqueue
    calls = {"n": 0}

    def enqueue(self: RunQueue, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ServiceUnavailable("The job queue (Redis) is unavailable: test.")
        real_enqueue(self, *args, **kwargs)

    monkeypatch.setattr(RunQueue, "enqueue", enqueue)
    runs_dir = tmp_path / "withdrawn"
    settings = Settings(runs_dir=runs_dir, redis_url=url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/api/sim/batch", json=BODY)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "Retry-After" in response.headers
        assert client.get("/api/runs").json()["items"] == []  # the two queued are gone
    assert calls["n"] == 3
    assert not list((runs_dir / BATCH_FOLDER).glob("*.json"))
