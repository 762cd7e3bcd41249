"""OWASP API8:2023 Security Misconfiguration, tried for real.

What a scanner looks at first: the security headers on JSON answers, problems and HTML
pages (the CSP on the pages), answers kept out of caches, CORS (none by default; only the
configured exact origins, never `*`, never credentials), a crash answered with a bare 500
problem (no traceback, no exception text, no path), unknown routes and methods answered as
problems, and what the real uvicorn says about itself in `Server`. The header and CORS
mechanics in detail: tests/handlers/http/test_security.py.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from handlers.app import create_app, create_handlers
from handlers.http.security import SECURITY_HEADERS
from handlers.settings import Settings
from tests.test_app import _CrashingHealth

APP_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
HTML = ["/docs", "/redoc", "/dashboard/runs", "/dashboard/plans"]
# (method, path, body): a JSON answer, problems of each kind, the published document.
ANSWERS = [
    ("GET", "/v1/runs", None),
    ("GET", "/v1/runs/run_0123456789abcdef01234567", None),
    ("POST", "/v1/runs", {"scenario": "<script>alert(1)</script>"}),
    ("DELETE", "/v1/runs", None),
    ("GET", "/v1/nowhere", None),
    ("GET", "/openapi.json", None),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("api8"), warm_spares=0)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _assert_hardened(answer: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get_list(name) == [value], name


@pytest.mark.parametrize(("method", "path", "body"), ANSWERS)
def test_answers_and_problems_carry_the_headers(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    answer = client.request(method, path, json=body)
    _assert_hardened(answer)
    assert answer.headers["content-type"] in ("application/json", "application/problem+json")
    # Reflected input stays JSON a browser will not sniff into HTML.
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", HTML)
def test_html_pages_carry_a_strict_csp(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    _assert_hardened(answer)
    directives = dict(
        part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";")
    )
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert "*" not in directives["script-src"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/runs"), ("GET", "/v1/runs/run_0123456789abcdef01234567"), ("POST", "/v1/runs")],
)
def test_api_answers_are_not_kept_by_caches(client: TestClient, method: str, path: str) -> None:
    """Answers hold a principal's data (and, once, a webhook secret): no cache may keep them
    for the next caller. Static files stay cacheable."""
    answer = client.request(method, path, json={} if method == "POST" else None)
    assert answer.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/dashboard/core.js").headers.get(
        "cache-control", ""
    )


def _cors_headers(answer: Any) -> list[str]:
    return [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_no_cors_by_default(client: TestClient) -> None:
    for origin in (APP_ORIGIN, EVIL_ORIGIN, "null"):
        preflight = client.options("/v1/runs", headers={"Origin": origin, **PREFLIGHT})
        simple = client.get("/v1/runs", headers={"Origin": origin})
        assert _cors_headers(preflight) == []
        assert _cors_headers(simple) == []
        assert preflight.status_code == 405


def test_cors_admits_only_the_configured_origin(tmp_path: Path) -> None:
    settings = Settings(runs_dir=tmp_path, warm_spares=0, cors_origins=APP_ORIGIN)
    client = TestClient(create_app(settings))
    for origin in (EVIL_ORIGIN, "null", APP_ORIGIN + ".evil.example", "http://app.example.com"):
        for answer in (
            client.options("/v1/runs", headers={"Origin": origin, **PREFLIGHT}),
            client.get("/v1/runs", headers={"Origin": origin}),
        ):
            assert "access-control-allow-origin" not in answer.headers, origin
    allowed = client.options("/v1/runs", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "access-control-allow-credentials" not in allowed.headers


@pytest.mark.parametrize(
    "origins",
    ["*", "https://app.example.com/", "null", "App.example.com", "https://u@app.example.com"],
)
def test_a_wildcard_or_inexact_origin_is_refused_at_start(origins: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(cors_origins=origins)


def _crashing_app(runs_dir: Path) -> FastAPI:
    settings = Settings(runs_dir=runs_dir, warm_spares=0)
    handlers = replace(create_handlers(settings), health=_CrashingHealth())
    return create_app(settings, handlers=handlers)


LEAKS = ("Traceback", "RuntimeError", "boom", "/srv", "secret", "File ", "line ")


def test_a_crash_is_a_bare_500_problem(tmp_path: Path) -> None:
    client = TestClient(_crashing_app(tmp_path), raise_server_exceptions=False)
    answer = client.get("/v1/health")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:qers:problem:internal"
    _assert_hardened(answer)
    for leak in LEAKS:
        assert leak not in answer.text, leak


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/admin")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = client.put("/v1/runs", json={})
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


@contextmanager
def _uvicorn(app: FastAPI) -> Iterator[str]:
    """The app behind a real uvicorn on a free loopback port; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_the_real_server_names_no_versions_and_hides_crashes(tmp_path: Path) -> None:
    with _uvicorn(_crashing_app(tmp_path)) as url, httpx.Client(base_url=url) as http:
        answer = http.get("/v1/runs")
        assert answer.status_code == 200
        # uvicorn's default `server: uvicorn` names the server, not its version.
        assert re.fullmatch(r"[A-Za-z-]*", answer.headers.get("server", "")), answer.headers
        assert "x-powered-by" not in answer.headers
        crash = http.get("/v1/health")
        assert crash.status_code == 500
        for leak in LEAKS:
            assert leak not in crash.text, leak
