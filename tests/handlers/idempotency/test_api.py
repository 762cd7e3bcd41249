"""Idempotency-Key on the create operations, end to end: embedded (SQLite) and queued (Redis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.settings import Settings
from tests.redisutil import DB_IDEMPOTENCY, flush, redis_url

BODY = {"scenario": "drop_test", "options": {"steps": 30, "seed": 1, "tags": ["idem"]}}
SIM_BODY = {"scenario": "drop_test", "steps": 30, "tags": ["idem"]}


@pytest.fixture(params=["embedded", "queued"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    url = None
    if request.param == "queued":
        url = redis_url(DB_IDEMPOTENCY)
        flush(url)
    settings = Settings(runs_dir=tmp_path / "runs", redis_url=url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client
    if url is not None:
        flush(url)


def _runs(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/runs", params={"tag": "idem"}).json()["items"]
    return items


def test_same_key_same_body_replays_the_first_answer(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-1"}
    first = client.post("/v1/runs", json=BODY, headers=headers)
    assert first.status_code in (201, 202), first.text
    again = client.post("/v1/runs", json=BODY, headers=headers)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [run["id"] for run in _runs(client)] == [first.json()["id"]]


def test_same_key_other_body_is_a_422(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-2"}
    assert client.post("/v1/runs", json=BODY, headers=headers).status_code in (201, 202)
    other = {**BODY, "options": {**BODY["options"], "seed": 2}}
    response = client.post("/v1/runs", json=other, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert len(_runs(client)) == 1


def test_keys_are_per_operation_and_sim_runs_replay_too(client: TestClient) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    run = client.post("/v1/runs", json=BODY, headers=headers)
    job = client.post("/api/sim/run", json=SIM_BODY, headers=headers)
    assert job.status_code in (200, 202), job.text
    assert job.json()["job_id"] != run.json()["id"]
    again = client.post("/api/sim/run", json=SIM_BODY, headers=headers)
    assert again.json() == job.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_rejected_request_does_not_use_up_its_key(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-3"}
    bad = client.post("/v1/runs", json={"scenario": "no_such_scenario"}, headers=headers)
    assert bad.status_code == 422
    assert client.post("/v1/runs", json=BODY, headers=headers).status_code in (201, 202)


def test_concurrent_requests_with_one_key_create_exactly_one_run(client: TestClient) -> None:
    headers = {"Idempotency-Key": "burst"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: client.post("/v1/runs", json=BODY, headers=headers), range(8))
        )
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 202, 409}, codes
    created = {r.json()["id"] for r in responses if r.status_code in (201, 202)}
    assert len(created) == 1, codes
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
    assert [run["id"] for run in _runs(client)] == list(created)
