"""Security headers on every response, the CSP on HTML pages only, CORS off unless listed."""

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.http.security import (
    CSP_HEADER,
    SECURITY_HEADERS,
    content_security_policy,
    inline_script_hashes,
)
from handlers.settings import Settings

APP_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example"
HTML_PAGES = ["/docs", "/docs/oauth2-redirect", "/redoc", "/dashboard/runs", "/dashboard/plans"]
NOT_HTML = ["/v1/health", "/v1/runs", "/v1/runs/run_missing", "/nope", "/openapi.json"]
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-api-key, idempotency-key",
}


@pytest.fixture
def make_client(tmp_path: Path) -> Any:
    def make(**overrides: Any) -> TestClient:
        settings = Settings(runs_dir=tmp_path, warm_spares=0, **overrides)
        return TestClient(create_app(settings), raise_server_exceptions=False)

    return make


@pytest.fixture
def client(make_client: Any) -> TestClient:
    client: TestClient = make_client()
    return client


def _assert_security_headers(headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get_list(name) == [value], name


@pytest.mark.parametrize("path", NOT_HTML + HTML_PAGES + ["/static/dashboard/core.js"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    _assert_security_headers(client.get(path).headers)


def test_problems_and_refusals_carry_them_too(make_client: Any) -> None:
    client = make_client(auth="api_key", max_body_bytes=1024)
    refused = client.get("/v1/runs")
    assert refused.status_code == 401
    _assert_security_headers(refused.headers)
    too_big = client.post("/v1/runs", content=b"x" * 5000, headers={"X-API-Key": "k"})
    assert too_big.status_code == 413
    _assert_security_headers(too_big.headers)


@pytest.mark.parametrize("path", NOT_HTML)
def test_json_answers_have_no_csp(client: TestClient, path: str) -> None:
    assert CSP_HEADER not in client.get(path).headers


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_have_the_csp(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers[CSP_HEADER]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"].startswith("'self'")
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]


def test_dashboard_and_redoc_pages_admit_no_inline_script(client: TestClient) -> None:
    for path in ("/redoc", "/dashboard/runs"):
        answer = client.get(path)
        assert inline_script_hashes(answer.text) == []
        assert answer.headers[CSP_HEADER] == content_security_policy()


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_swagger_pages_admit_exactly_their_inline_scripts(client: TestClient, path: str) -> None:
    answer = client.get(path)
    hashes = inline_script_hashes(answer.text)
    assert len(hashes) == 1
    script_src = re.search(r"script-src ([^;]+)", answer.headers[CSP_HEADER])
    assert script_src is not None
    assert script_src.group(1).split() == ["'self'", *hashes]


def test_inline_script_hashes_are_csp_sha256_sources() -> None:
    html = '<script src="/a.js"></script><script>alert(1)</script><SCRIPT type="x">b</SCRIPT>'
    # sha256("alert(1)") and sha256("b"), base64 (as `openssl dgst -sha256 -binary | base64`)
    assert inline_script_hashes(html) == [
        "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='",
        "'sha256-PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0='",
    ]


def test_cors_is_off_by_default(client: TestClient) -> None:
    preflight = client.options("/v1/runs", headers=PREFLIGHT)
    simple = client.get("/v1/runs", headers={"Origin": APP_ORIGIN})
    for answer in (preflight, simple):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


def test_preflight_from_an_allowed_origin_passes_before_auth(make_client: Any) -> None:
    client = make_client(auth="api_key", cors_origins=f"{APP_ORIGIN},http://localhost:5173")
    answer = client.options("/v1/runs", headers=PREFLIGHT)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert set(answer.headers["access-control-allow-methods"].split(", ")) == {
        "GET",
        "POST",
        "PATCH",
    }
    allowed = {h.lower() for h in answer.headers["access-control-allow-headers"].split(", ")}
    expected = {"content-type", "x-api-key", "authorization", "idempotency-key", "x-request-id"}
    assert expected <= allowed
    assert "access-control-allow-credentials" not in answer.headers
    _assert_security_headers(answer.headers)


def test_allowed_origin_reads_the_exposed_headers(make_client: Any) -> None:
    client = make_client(auth="api_key", cors_origins=APP_ORIGIN)
    answer = client.get("/v1/runs", headers={"Origin": APP_ORIGIN})
    assert answer.status_code == 401  # CORS lets the browser read the refusal, not skip auth
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {h.lower() for h in answer.headers["access-control-expose-headers"].split(", ")}
    assert exposed == {
        "location",
        "x-request-id",
        "retry-after",
        "idempotent-replayed",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    }
    assert "origin" in answer.headers["vary"].lower()


def test_disallowed_origin_gets_no_allow_origin(make_client: Any) -> None:
    client = make_client(auth="api_key", cors_origins=APP_ORIGIN)
    preflight = client.options("/v1/runs", headers={**PREFLIGHT, "Origin": OTHER_ORIGIN})
    simple = client.get("/v1/health", headers={"Origin": OTHER_ORIGIN})
    assert preflight.status_code == 400
    assert simple.status_code == 200
    for answer in (preflight, simple):
        assert "access-control-allow-origin" not in answer.headers


def test_preflight_asking_for_another_method_is_refused(make_client: Any) -> None:
    client = make_client(cors_origins=APP_ORIGIN)
    answer = client.options(
        "/v1/runs", headers={**PREFLIGHT, "Access-Control-Request-Method": "DELETE"}
    )
    assert answer.status_code == 400
