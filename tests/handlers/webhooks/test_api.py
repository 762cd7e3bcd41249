"""Run webhooks end to end: real runs, a real receiver on loopback, embedded and queued."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from generated.models import WebhookEvent
from handlers.app import create_app
from handlers.settings import Settings
from tests.handlers.queued import start_worker, stop, wait_for, worker_env
from tests.handlers.webhooks.test_delivery import Receiver, _serve, verify
from tests.redisutil import DB_WEBHOOKS, flush, redis_url

BODY = {"scenario": "drop_test", "options": {"steps": 40, "seed": 2}}


def _settings(runs_dir: Path, url: str | None = None) -> Settings:
    return Settings(
        runs_dir=runs_dir,
        redis_url=url,
        webhook_allow_hosts=["127.0.0.1"],
        webhook_retry_delays_s=[0.2, 0.4],
        webhook_timeout_s=2,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(_settings(tmp_path / "runs"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _with_hook(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {**BODY, "options": {**BODY["options"], "webhook_url": receiver.url(), **extra}}


def _deliveries(client: TestClient, run_id: str, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        hook = client.get(f"/v1/runs/{run_id}").json()["webhook"]
        return hook["deliveries"] if len(hook["deliveries"]) >= count else None

    deliveries: list[dict[str, Any]] = wait_for(enough, timeout_s=30, what="deliveries")
    return deliveries


def test_finished_run_is_posted_signed_and_logged(client: TestClient, receiver: Receiver) -> None:
    created = client.post("/v1/runs", json=_with_hook(receiver))
    assert created.status_code == 201, created.text
    run = created.json()
    secret = run["webhook"]["secret"]
    assert secret.startswith("whsec_")  # generated, and shown this once
    deliveries = _deliveries(client, run["id"], 1)
    assert deliveries[0]["succeeded"] is True
    assert deliveries[0]["status_code"] == 200
    request = receiver.received[0]
    event = verify(secret, request)
    WebhookEvent.model_validate(event)
    assert (event["event"], event["run_id"]) == ("run.completed", run["id"])
    assert event["payload"]["status"] == "SUCCEEDED"
    assert event["payload"]["webhook"]["secret"] is None
    assert request.headers["webhook-id"] == run["webhook"]["message_id"]
    detail = client.get(f"/v1/runs/{run['id']}").json()
    assert detail["webhook"]["secret"] is None


def test_failed_attempts_are_retried_with_the_same_id(
    client: TestClient, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    secret = "whsec_" + "A" * 43 + "="
    run = client.post("/v1/runs", json=_with_hook(receiver, webhook_secret=secret)).json()
    assert run["webhook"]["secret"] is None  # the caller's own secret is never echoed
    deliveries = _deliveries(client, run["id"], 2)
    assert [d["status_code"] for d in deliveries] == [500, 200]
    assert deliveries[0]["next_attempt_at"] is not None
    assert deliveries[1]["next_attempt_at"] is None
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    for request in receiver.received:
        verify(secret, request)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest",
        "http://127.0.0.2:9/x",
        "ftp://example.com/hook",
    ],
)
def test_unsafe_urls_are_refused_at_creation(client: TestClient, url: str) -> None:
    body = {**BODY, "options": {**BODY["options"], "webhook_url": url}}
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/options/webhook_url"
    assert client.get("/v1/runs").json()["items"] == []


def test_secret_is_never_stored_in_clear(
    client: TestClient, receiver: Receiver, tmp_path: Path
) -> None:
    run = client.post("/v1/runs", json=_with_hook(receiver)).json()
    _deliveries(client, run["id"], 1)
    secret = run["webhook"]["secret"].encode()
    key_material = secret.removeprefix(b"whsec_")
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            assert key_material not in path.read_bytes(), path
    stored = json.loads((tmp_path / "runs" / run["id"] / "webhook.json").read_bytes())
    assert set(stored) == {"url", "sealed_secret"}


def test_queued_runs_deliver_through_rq_with_retries(receiver: Receiver, tmp_path: Path) -> None:
    url = redis_url(DB_WEBHOOKS)
    flush(url)
    runs_dir = tmp_path / "runs"
    receiver.statuses = [503]
    env = worker_env(
        url,
        runs_dir,
        QERS_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
        QERS_WEBHOOK_RETRY_DELAYS_S="1,1",
    )
    worker = start_worker(env)
    try:
        app = create_app(_settings(runs_dir, url))
        with TestClient(app, raise_server_exceptions=False) as client:
            created = client.post("/v1/runs", json=_with_hook(receiver))
            assert created.status_code == 202, created.text
            run = created.json()
            deliveries = _deliveries(client, run["id"], 2)
    finally:
        stop(worker)
        flush(url)
    assert [d["status_code"] for d in deliveries] == [503, 200]
    assert [d["attempt"] for d in deliveries] == [1, 2]
    event = verify(run["webhook"]["secret"], receiver.received[-1])
    assert event["event"] == "run.completed"


def test_a_failed_run_posts_run_failed(client: TestClient, receiver: Receiver) -> None:
    body = _with_hook(receiver, max_duration_s=0.3)
    body["options"]["steps"] = 1_000_000
    run = client.post("/v1/runs", json=body).json()
    assert (run["status"], run["failure_code"]) == ("FAILED", "TIMEOUT")
    _deliveries(client, run["id"], 1)
    event = verify(run["webhook"]["secret"], receiver.received[0])
    assert (event["event"], event["payload"]["failure_code"]) == ("run.failed", "TIMEOUT")
