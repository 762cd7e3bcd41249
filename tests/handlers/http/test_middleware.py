"""Request ids on every response and log line; one access line per request."""

import io
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from handlers.http.middleware import UNMATCHED_ROUTE, RequestContextMiddleware
from handlers.http.requestid import accept_or_generate

GENERATED = re.compile(r"[0-9a-f]{32}")


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in log_lines(stream) if line.get("logger") == "qers.access"]


@pytest.mark.parametrize("incoming", ["client-req-0001", "req_8c1f3a5e7d9b4c2a", "a.b:c-d_" * 16])
def test_well_formed_incoming_id_is_kept(client: TestClient, incoming: str) -> None:
    response = client.get("/v1/widgets/1", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


MALFORMED = ["short", "has space in it", "x" * 129, 'quote"d-id', "ünïcode-id"]


@pytest.mark.parametrize("incoming", MALFORMED)
def test_malformed_incoming_id_is_replaced(client: TestClient, incoming: str) -> None:
    response = client.get("/v1/widgets/1", headers={"X-Request-ID": incoming.encode()})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_missing_id_is_generated_fresh_each_time(client: TestClient) -> None:
    first = client.get("/v1/widgets/1").headers["x-request-id"]
    second = client.get("/v1/widgets/1").headers["x-request-id"]
    assert GENERATED.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/v1/widgets/1", {}),
        ("GET", "/nope", {}),
        ("DELETE", "/v1/widgets", {}),
        ("POST", "/v1/widgets", {"json": {}}),
        ("POST", "/v1/widgets", {"content": b"x" * 5000}),
        ("GET", "/v1/crash", {}),
    ],
)
def test_every_response_carries_exactly_one_request_id(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = client.request(method, path, headers={"X-Request-ID": "given-id-123"}, **kwargs)
    assert response.headers.get_list("x-request-id") == ["given-id-123"]


def test_every_log_line_of_a_request_has_its_id(
    client: TestClient, log_stream: io.StringIO
) -> None:
    client.get("/v1/widgets/7", headers={"X-Request-ID": "trace-me-0001"})
    client.get("/v1/crash", headers={"X-Request-ID": "trace-me-0002"})
    ours = [line for line in log_lines(log_stream) if line.get("logger") != "httpx"]
    assert [line["request_id"] for line in ours] == [
        "trace-me-0001",  # the handler's own line
        "trace-me-0001",  # access
        "trace-me-0002",  # unhandled_exception
        "trace-me-0002",  # access
    ]
    assert ours[0]["event"] == "reading widget"
    assert ours[2]["event"] == "unhandled_exception"
    assert "RuntimeError" in ours[2]["exception"]
    for line in ours:
        assert {"timestamp", "level", "event"} <= set(line)


def test_access_line_has_route_template_status_and_duration(
    client: TestClient, log_stream: io.StringIO
) -> None:
    client.get("/v1/widgets/42?limit=2")
    client.post("/v1/widgets", json={"name": "a"})
    client.get("/v1/unknown/path")
    client.delete("/v1/widgets")
    lines = access_lines(log_stream)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/v1/widgets/{widget_id}", 200),
        ("POST", "/v1/widgets", 201),
        ("GET", UNMATCHED_ROUTE, 404),
        ("DELETE", "/v1/widgets", 405),
    ]
    for line in lines:
        assert line["event"] == "request"
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
        assert GENERATED.fullmatch(line["request_id"])
    assert "42" not in json.dumps(lines[0]["route"])  # the template, never the raw path


def test_access_line_for_a_crash_says_500(client: TestClient, log_stream: io.StringIO) -> None:
    client.get("/v1/crash")
    assert access_lines(log_stream)[-1]["status"] == 500


def test_custom_request_id_header(log_stream: io.StringIO) -> None:
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware, header="X-Correlation-ID")

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    response = TestClient(app).get("/ping", headers={"X-Correlation-ID": "corr-12345678"})
    assert response.headers["x-correlation-id"] == "corr-12345678"


def test_request_id_rules() -> None:
    assert accept_or_generate("abcdefgh") == "abcdefgh"
    assert accept_or_generate("abcdefg") != "abcdefg"
    assert GENERATED.fullmatch(accept_or_generate(None))
