"""OWASP API4:2023 Unrestricted Resource Consumption, tried for real: steps per request,
unfinished work per principal (embedded and queued on the real Redis), the embedded
server's admission limit, and what one request may make the server read: bodies over the
limit (declared or streamed), nesting and arrays past the schema, page sizes, and a zip
bomb upload. The mechanics in detail: tests/handlers/http and tests/handlers/assets; rate
limits: tests/handlers/http/test_ratelimit.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.settings import Settings
from tests.handlers.assets.test_api import zip_bomb
from tests.redisutil import DB_QUOTAS, flush, redis_url

SHORT = {"scenario": "drop_test", "options": {"steps": 20}}
LONG = {"scenario": "arm_reach", "options": {"steps": 200000, "record_replay": False}}


def _key(runs_dir: Path, role: Role = Role.RUNNER) -> dict[str, str]:
    made, _ = KeyStore(runs_dir).create(role=role)
    return {"X-API-Key": made.key}


def _running(client: TestClient, headers: dict[str, str]) -> str:
    """The id of the one RUNNING run, once there is one (the long run has started)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = client.get("/v1/runs?status=RUNNING", headers=headers).json()["items"]
        if items:
            return str(items[0]["id"])
        time.sleep(0.05)
    raise AssertionError("the long run never started")


def _stored(client: TestClient, headers: dict[str, str]) -> int:
    return len(client.get("/v1/runs?limit=1000", headers=headers).json()["items"])


def test_steps_beyond_the_limit_are_a_422_naming_the_field(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0, max_steps_per_request=100)
    with TestClient(create_app(settings)) as client:
        over = {"scenario": "drop_test", "options": {"steps": 101}}
        answer = client.post("/v1/runs", json=over)
        assert answer.status_code == 422
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/options/steps"]
        assert "100 steps per request" in answer.json()["errors"][0]["reason"]
        sim = client.post("/api/sim/run", json={"scenario": "drop_test", "steps": 101})
        assert [e["pointer"] for e in sim.json()["errors"]] == ["/steps"]
        batch = {"scenario": "drop_test", "profiles": ["default", "worn_actuators"], "steps": 60}
        refused = client.post("/api/sim/batch", json=batch)
        assert refused.status_code == 422
        assert "2 children x 60 steps" in refused.json()["errors"][0]["reason"]
        assert _stored(client, {}) == 0  # nothing was made
        exact = {"scenario": "drop_test", "options": {"steps": 100}}
        assert client.post("/v1/runs", json=exact).status_code == 201


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def _finish(client: TestClient, run_id: str, headers: dict[str, str], pending: Future[Any]) -> None:
    client.post(f"/v1/runs/{run_id}/cancel", headers=headers)
    assert pending.result(timeout=60).json()["status"] == "CANCELLED"


def test_embedded_admission_limit_answers_503_with_retry_after(
    tmp_path: Path, pool: ThreadPoolExecutor
) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0, max_pending_runs=1)
    with TestClient(create_app(settings)) as client:
        pending = pool.submit(client.post, "/v1/runs", json=LONG)
        run_id = _running(client, {})
        answer = client.post("/v1/runs", json=SHORT)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["type"] == "urn:qers:problem:unavailable"
        assert "QERS_MAX_PENDING_RUNS" in answer.json()["detail"]
        small = {"scenario": "drop_test", "profiles": ["default"], "steps": 10}
        batch = client.post("/api/sim/batch", json=small)
        assert batch.status_code == 503
        assert _stored(client, {}) == 1  # nothing was made by the refused creates
        _finish(client, run_id, {}, pending)
        assert client.post("/v1/runs", json=SHORT).status_code == 201


def test_embedded_quota_is_per_principal(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    settings = Settings(
        runs_dir=tmp_path, warm_spares=0, auth=("api_key",), max_runs_per_principal=1
    )
    busy, other = _key(tmp_path), _key(tmp_path)
    with TestClient(create_app(settings)) as client:
        pending = pool.submit(client.post, "/v1/runs", json=LONG, headers=busy)
        run_id = _running(client, busy)
        answer = client.post("/v1/runs", json=SHORT, headers=busy)
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["type"] == "urn:qers:problem:quota-exceeded"
        assert client.post("/v1/runs", json=SHORT, headers=other).status_code == 201
        _finish(client, run_id, busy, pending)
        assert client.post("/v1/runs", json=SHORT, headers=busy).status_code == 201


@pytest.fixture
def queued_url() -> Iterator[str]:
    url = redis_url(DB_QUOTAS)
    flush(url)
    yield url
    flush(url)


def test_queued_quota_counts_unfinished_runs_and_batches(tmp_path: Path, queued_url: str) -> None:
    settings = Settings(
        runs_dir=tmp_path, redis_url=queued_url, auth=("api_key",), max_runs_per_principal=2
    )
    runner, other = _key(tmp_path), _key(tmp_path)
    with TestClient(create_app(settings)) as client:  # no worker: the runs stay QUEUED
        first = client.post("/v1/runs", json=SHORT, headers=runner)
        assert first.status_code == 202
        batch = {"scenario": "drop_test", "profiles": ["default", "worn_actuators"], "steps": 10}
        assert client.post("/api/sim/batch", json=batch, headers=runner).status_code == 202
        refused = client.post("/api/sim/run", json={"scenario": "drop_test"}, headers=runner)
        assert refused.status_code == 429
        assert refused.json()["type"] == "urn:qers:problem:quota-exceeded"
        assert client.post("/v1/runs", json=SHORT, headers=other).status_code == 202
        cancel = client.post(f"/v1/runs/{first.json()['id']}/cancel", headers=runner)
        assert cancel.json()["status"] == "CANCELLED"
        assert client.post("/v1/runs", json=SHORT, headers=runner).status_code == 202


def test_bodies_past_the_limit_are_refused_unread(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0, max_body_bytes=4096)
    client = TestClient(create_app(settings))
    json_type = {"content-type": "application/json"}
    declared = client.post("/v1/runs", content=b" " * 5000 + b"{}", headers=json_type)
    assert declared.status_code == 413

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"scenario": "drop_test", "options": {"tags": ["'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"]}}'

    answer = client.post("/v1/runs", content=streamed(), headers=json_type)
    assert answer.status_code == 413
    assert answer.json()["type"] == "urn:qers:problem:payload-too-large"
    assert _stored(client, {}) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 400_000 + b"]" * 400_000, 400),  # nesting that would exhaust the parser
        (b'{"scenario": "drop_test", "options": {"tags": [' + b'"t",' * 50_000 + b'"t"]}}', 422),
        (b'{"scenario": "drop_test", "options": {"steps": 1e309}}', 422),
    ],
    ids=["deep-nesting", "huge-array", "huge-number"],
)
def test_shapes_past_the_schema_are_refused(tmp_path: Path, body: bytes, status: int) -> None:
    client = TestClient(create_app(Settings(runs_dir=tmp_path, warm_spares=0)))
    answer = client.post("/v1/runs", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text[:300]
    assert _stored(client, {}) == 0


def test_page_sizes_are_bounded(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(runs_dir=tmp_path, warm_spares=0)))
    for path in ("/v1/runs", "/api/runs", "/api/assets", "/api/projects"):
        answer = client.get(path, params={"limit": 1_000_000})
        assert answer.status_code == 422, path
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/limit"]


def test_a_zip_bomb_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    client = TestClient(create_app(Settings(runs_dir=runs_dir, warm_spares=0)))
    bomb = zip_bomb(tmp_path)  # 200 MiB of zeros in about 200 KiB
    answer = client.post(
        "/api/assets/import", data={"name": "bomb"}, files={"file": ("b.zip", bomb)}
    )
    assert answer.status_code == 413, answer.text
    assert "compression ratio" in answer.json()["detail"]
    assert client.get("/api/assets").json()["items"] == []
