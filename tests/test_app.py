"""The real app: every error is a problem document, request ids everywhere, clean logs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import Response
from fastapi.testclient import TestClient

from generated.models import Health
from handlers.app import create_app, create_handlers
from handlers.errors import NotImplementedOperation
from handlers.kit.logging import configure_logging
from handlers.settings import Settings

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id", "errors"}


class _CrashingHealth:
    async def get_health(self, *, response: Response) -> Health:
        raise RuntimeError("boom in /srv/qers/secret/path.py")

    async def get_api_health(self, *, response: Response) -> Health:
        raise RuntimeError("boom")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(runs_dir=tmp_path, max_body_bytes=4096)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    configure_logging("INFO")


@pytest.fixture
def client(settings: Settings, logs: io.StringIO) -> TestClient:
    app = create_app(settings)
    configure_logging("INFO", stream=logs)
    return TestClient(app, raise_server_exceptions=False)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_health_is_real(client: TestClient) -> None:
    body = client.get("/v1/health").json()
    assert body["status"] == "ok"
    assert body["engine"]["ok"] is True
    assert body["storage"]["ok"] is True
    assert body["job_backend"] == "embedded"
    assert client.get("/api/health").json()["version"] == body["version"]


def test_health_reports_unwritable_storage(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    client = TestClient(create_app(Settings(runs_dir=blocker / "runs")))
    body = client.get("/v1/health").json()
    assert body["status"] == "degraded"
    assert body["storage"]["ok"] is False
    assert str(tmp_path) not in json.dumps(body)


def test_invalid_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/runs", content=b'{"scenario": ', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in _problem(response, 400)["detail"]


def test_body_not_utf8_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/runs",
        content=b'{"scenario": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert "UTF-8" in _problem(response, 400)["detail"]


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post(
        "/v1/runs", content=b'{"scenario": "drop_test"}', headers={"content-type": "text/plain"}
    )
    assert "application/json" in _problem(response, 415)["detail"]


def test_unknown_path_is_404(client: TestClient) -> None:
    assert _problem(client.get("/v1/nope"), 404)["instance"] == "/v1/nope"


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/runs")
    _problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_validation_is_422_with_one_pointer_per_field(client: TestClient) -> None:
    body = {"scenario": "Bad Name", "options": {"steps": 0, "bogus": 1}}
    problem = _problem(client.post("/v1/runs", json=body), 422)
    pointers = {(e["location"], e["pointer"]) for e in problem["errors"]}
    assert pointers == {
        ("body", "/scenario"),
        ("body", "/options/steps"),
        ("body", "/options/bogus"),
    }
    assert all(e["reason"] for e in problem["errors"])


def test_query_validation_points_at_the_parameter(client: TestClient) -> None:
    problem = _problem(client.get("/v1/runs", params={"limit": 0}), 422)
    assert [(e["location"], e["pointer"]) for e in problem["errors"]] == [("query", "/limit")]


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = json.dumps({"scenario": "drop_test", "pad": "x" * 5000})
    response = client.post("/v1/runs", content=big, headers={"content-type": "application/json"})
    _problem(response, 413)


class _NotBuiltAi:
    """An `ai` handler whose operations are not built (as every operation once was)."""

    async def create_plan(self, **_: object) -> None:
        raise NotImplementedOperation("createPlan")

    async def get_plan(self, **_: object) -> None:
        raise NotImplementedOperation("getPlan")


def test_not_built_yet_is_501_naming_the_operation(settings: Settings) -> None:
    handlers = replace(create_handlers(settings), ai=_NotBuiltAi())
    client = TestClient(create_app(settings, handlers=handlers))
    problem = _problem(client.post("/api/ai/plan", json={"task": "Reach the targets."}), 501)
    assert "createPlan" in problem["detail"]


def test_unexpected_exception_is_500_without_trace_or_path(
    settings: Settings, logs: io.StringIO
) -> None:
    handlers = replace(create_handlers(settings), health=_CrashingHealth())
    app = create_app(settings, handlers=handlers)
    configure_logging("INFO", stream=logs)
    response = TestClient(app, raise_server_exceptions=False).get("/v1/health")
    problem = _problem(response, 500)
    assert "boom" not in response.text
    assert "/srv/qers" not in response.text
    assert "Traceback" not in response.text
    assert "Traceback" in logs.getvalue(), "the trace belongs in the log"
    assert problem["request_id"] in logs.getvalue()


def test_request_id_is_kept_when_well_formed_and_replaced_when_not(client: TestClient) -> None:
    kept = client.get("/v1/health", headers={"X-Request-ID": "client-id-12345"})
    assert kept.headers["x-request-id"] == "client-id-12345"
    bad = client.get("/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bad.headers["x-request-id"] != "bad id\twith spaces"
    assert len(bad.headers["x-request-id"]) >= 8
    generated = client.get("/v1/nope")
    assert generated.json()["request_id"] == generated.headers["x-request-id"]


def test_every_log_line_of_a_request_carries_its_id(client: TestClient, logs: io.StringIO) -> None:
    client.post("/v1/runs", json={"scenario": "x"}, headers={"X-Request-ID": "trace-me-0001"})
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "trace-me-0001"]
    access = [line for line in mine if line.get("logger") == "qers.access"]
    assert len(access) == 1
    assert access[0]["method"] == "POST"
    assert access[0]["route"] == "/v1/runs"
    assert access[0]["status"] == 422
    assert access[0]["duration_ms"] >= 0
    assert all("request_id" in line for line in lines if line.get("logger", "").startswith("qers"))


def test_secrets_never_reach_the_log(client: TestClient, logs: io.StringIO) -> None:
    body = {
        "scenario": "drop_test",
        "options": {"webhook_url": "https://hooks.example.com/x", "webhook_secret": "whsec_s3cr3t"},
    }
    client.post(
        "/v1/runs",
        json=body,
        headers={"Authorization": "Bearer tok-9f8e7d", "X-API-Key": "key-a1b2c3"},
    )
    client.post("/v1/runs", json={**body, "options": {"webhook_secret": 5}})
    text = logs.getvalue()
    assert text, "the requests were logged"
    for secret in ("whsec_s3cr3t", "tok-9f8e7d", "key-a1b2c3"):
        assert secret not in text
