"""QERS_RATE_LIMIT on the real app: 429 problems, RateLimit-* headers, who shares a bucket."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.http.ratelimit import RATE_LIMIT_HEADERS
from handlers.settings import Settings
from tests.redisutil import DB_RATE_LIMIT, flush, redis_url

LIMITED = "/v1/scenarios"  # listScenarios: cheap, viewer role
HOME = ("198.51.100.1", 50000)
ELSEWHERE = ("198.51.100.2", 50000)


@pytest.fixture
def make_app(tmp_path: Path) -> Any:
    def make(**overrides: Any) -> Any:
        return create_app(Settings(runs_dir=tmp_path, warm_spares=0, **overrides))

    return make


def client_of(app: Any, address: tuple[str, int] = HOME) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=address)


def key(tmp_path: Path, role: Role = Role.VIEWER) -> dict[str, str]:
    made, _record = KeyStore(tmp_path).create(role=role)
    return {"X-API-Key": made.key}


def remaining(response: httpx.Response) -> int:
    return int(response.headers["RateLimit-Remaining"])


def test_past_the_limit_a_429_problem_with_retry_after(make_app: Any) -> None:
    client = client_of(make_app(rate_limit="3/hour"))
    passed = [client.get(LIMITED) for _ in range(3)]
    assert [r.status_code for r in passed] == [200, 200, 200]
    refused = client.get(LIMITED)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "urn:qers:problem:rate-limited"
    assert (body["status"], body["title"]) == (429, "Too many requests")
    assert body["instance"] == LIMITED
    assert body["request_id"] == refused.headers["X-Request-ID"]  # inside the request context
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # and the security headers
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert body["detail"] == (
        f"The rate limit of 3 per hour is reached; retry after {retry_after} s."
    )
    assert refused.headers["RateLimit-Limit"] == "3"
    assert remaining(refused) == 0
    assert int(refused.headers["RateLimit-Reset"]) == retry_after


def test_remaining_counts_down_on_every_answer(make_app: Any) -> None:
    client = client_of(make_app(rate_limit="4/hour"))
    answers = [client.get(LIMITED), client.get("/v1/runs/run_missing"), client.get(LIMITED)]
    assert [r.status_code for r in answers] == [200, 404, 200]  # a 404 counts too
    assert [remaining(r) for r in answers] == [3, 2, 1]
    for answer in answers:
        assert answer.headers["RateLimit-Limit"] == "4"
        assert 1 <= int(answer.headers["RateLimit-Reset"]) <= 3600
        assert "Retry-After" not in answer.headers


def test_a_new_window_lets_requests_through_again(make_app: Any) -> None:
    client = client_of(make_app(rate_limit="1/second"))
    # A slow machine may open a new window between two requests: ask until one is refused.
    refused = next(r for r in (client.get(LIMITED) for _ in range(50)) if r.status_code == 429)
    time.sleep(int(refused.headers["Retry-After"]))  # the window has ended by then
    again = client.get(LIMITED)
    assert again.status_code == 200
    assert remaining(again) == 0


def test_each_principal_has_its_own_bucket(make_app: Any, tmp_path: Path) -> None:
    app = make_app(rate_limit="2/hour", auth="api_key")
    ada, bob = key(tmp_path), key(tmp_path)
    home, elsewhere = client_of(app), client_of(app, ELSEWHERE)
    assert [home.get(LIMITED, headers=ada).status_code for _ in range(2)] == [200, 200]
    # Ada's bucket follows her key, from any address; Bob's is untouched.
    assert elsewhere.get(LIMITED, headers=ada).status_code == 429
    bobs = home.get(LIMITED, headers=bob)
    assert (bobs.status_code, remaining(bobs)) == (200, 1)


def test_anonymous_callers_are_counted_by_address(make_app: Any) -> None:
    app = make_app(rate_limit="1/hour")
    home, elsewhere = client_of(app), client_of(app, ELSEWHERE)
    assert [home.get(LIMITED).status_code for _ in range(2)] == [200, 429]
    assert elsewhere.get(LIMITED).status_code == 200


def test_failed_authentications_count_per_address(make_app: Any, tmp_path: Path) -> None:
    app = make_app(rate_limit="2/hour", auth="api_key")
    valid = key(tmp_path)
    home, elsewhere = client_of(app), client_of(app, ELSEWHERE)
    bad = {"X-API-Key": "qers_0123456789abcdef_" + "x" * 43}
    failures = [home.get(LIMITED, headers=bad), home.get("/v1/runs")]
    assert [r.status_code for r in failures] == [401, 401]
    assert [remaining(r) for r in failures] == [1, 0]
    # The address is refused before any credential is looked at, a valid one included.
    blocked = home.get(LIMITED, headers=valid)
    assert blocked.status_code == 429
    assert blocked.json()["type"] == "urn:qers:problem:rate-limited"
    assert int(blocked.headers["Retry-After"]) >= 1
    assert home.get("/v1/health").status_code == 200
    # Other addresses, and the key's own bucket, are untouched.
    fine = elsewhere.get(LIMITED, headers=valid)
    assert (fine.status_code, remaining(fine)) == (200, 1)


def test_a_browser_can_read_the_refusal_and_its_headers(make_app: Any) -> None:
    origin = "https://app.example.com"
    client = client_of(make_app(rate_limit="1/hour", cors_origins=origin))
    client.get(LIMITED, headers={"Origin": origin})
    refused = client.get(LIMITED, headers={"Origin": origin})
    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == origin
    exposed = refused.headers["Access-Control-Expose-Headers"].lower()
    assert all(name.lower() in exposed for name in (*RATE_LIMIT_HEADERS, "Retry-After"))


@pytest.mark.parametrize("path", ["/v1/health", "/api/health"])
def test_health_checks_are_never_limited(make_app: Any, path: str) -> None:
    client = client_of(make_app(rate_limit="1/hour"))
    answers = [client.get(path) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert not any(name in r.headers for r in answers for name in RATE_LIMIT_HEADERS)


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/static/dashboard/core.js"])
def test_docs_and_static_files_are_not_counted(make_app: Any, path: str) -> None:
    client = client_of(make_app(rate_limit="1/hour"))
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    assert RATE_LIMIT_HEADERS[0] not in client.get(path).headers
    assert client.get(LIMITED).status_code == 200


def test_no_limit_no_headers(make_app: Any) -> None:
    answer = client_of(make_app()).get(LIMITED)
    assert answer.status_code == 200
    assert not any(name in answer.headers for name in RATE_LIMIT_HEADERS)


@pytest.fixture
def shared_redis() -> Iterator[str]:
    url = redis_url(DB_RATE_LIMIT)
    flush(url)
    yield url
    flush(url)


def test_two_api_processes_on_one_redis_share_the_count(tmp_path: Path, shared_redis: str) -> None:
    apps = [
        create_app(Settings(runs_dir=tmp_path / name, redis_url=shared_redis, rate_limit="3/hour"))
        for name in ("one", "two")
    ]
    first, second = client_of(apps[0]), client_of(apps[1])
    answers = [client.get(LIMITED) for client in (first, second, first, second)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [remaining(r) for r in answers] == [2, 1, 0, 0]


def test_redis_down_lets_requests_through_without_headers(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    app = create_app(Settings(runs_dir=tmp_path, redis_url=down, rate_limit="1/hour"))
    answers = [client_of(app).get(LIMITED) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert not any(name in r.headers for r in answers for name in RATE_LIMIT_HEADERS)
