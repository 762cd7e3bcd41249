"""QERS_AUTH=api_key against the real app: 401s, roles, revoked and expired keys."""

from datetime import UTC, datetime, timedelta

from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from tests.handlers.auth.conftest import AppFactory, key_for

RUN = {"scenario": "drop_test", "options": {"steps": 50}}
PROJECT = {"name": "auth tests"}


def test_no_key_is_401_with_a_challenge_and_a_problem(make_client: AppFactory) -> None:
    client = make_client(auth="api_key")
    answer = client.get("/v1/runs", headers={"X-Request-ID": "req-auth-1"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'ApiKey realm="qers"'
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:qers:problem:unauthorized"
    assert problem["request_id"] == "req-auth-1"


def test_bad_revoked_and_expired_keys_are_401(make_client: AppFactory, keys: KeyStore) -> None:
    client = make_client(auth="api_key")
    good = key_for(keys, Role.VIEWER)
    revoked_made, revoked = keys.create(role=Role.VIEWER)
    keys.revoke(revoked.id)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = key_for(keys, Role.ADMIN, lifetime=timedelta(days=1), now=past)
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for key in ("nonsense", wrong_secret, revoked_made.key, expired):
        answer = client.get("/v1/runs", headers={"X-API-Key": key})
        assert answer.status_code == 401, key
        assert answer.headers["WWW-Authenticate"] == 'ApiKey realm="qers"'
    assert client.get("/v1/runs", headers={"X-API-Key": good}).status_code == 200


def test_viewer_reads_but_cannot_create_a_run(make_client: AppFactory, keys: KeyStore) -> None:
    client = make_client(auth="api_key")
    viewer = {"X-API-Key": key_for(keys, Role.VIEWER)}
    assert client.get("/v1/runs", headers=viewer).status_code == 200
    assert client.get("/v1/scenarios", headers=viewer).status_code == 200
    answer = client.post("/v1/runs", json=RUN, headers=viewer)
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:qers:problem:forbidden"
    assert "runner" in answer.json()["detail"]


def test_runner_creates_a_run(make_client: AppFactory, keys: KeyStore) -> None:
    client = make_client(auth="api_key")
    runner = {"X-API-Key": key_for(keys, Role.RUNNER)}
    answer = client.post("/v1/runs", json=RUN, headers=runner)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "SUCCEEDED"


def test_admin_creates_a_project_and_runner_cannot(make_client: AppFactory, keys: KeyStore) -> None:
    client = make_client(auth="api_key")
    runner = {"X-API-Key": key_for(keys, Role.RUNNER)}
    admin = {"X-API-Key": key_for(keys, Role.ADMIN)}
    assert client.post("/api/projects", json=PROJECT, headers=runner).status_code == 403
    answer = client.post("/api/projects", json=PROJECT, headers=admin)
    assert answer.status_code == 201, answer.text
    assert client.get("/api/projects", headers=runner).status_code == 200


def test_health_stays_public(make_client: AppFactory) -> None:
    client = make_client(auth="api_key")
    assert client.get("/api/health").status_code == 200
    assert client.get("/v1/health").status_code in (200, 503)


def test_docs_public_by_default_protected_on_request(
    make_client: AppFactory, keys: KeyStore
) -> None:
    public = make_client(auth="api_key")
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert public.get(path).status_code == 200, path
    protected = make_client(auth="api_key", auth_protect_docs=True)
    viewer = {"X-API-Key": key_for(keys, Role.VIEWER)}
    for path in ("/openapi.json", "/docs", "/redoc", "/dashboard"):
        assert protected.get(path).status_code == 401, path
    assert protected.get("/openapi.json", headers=viewer).status_code == 200


def test_the_document_is_the_same_whatever_auth_says(make_client: AppFactory) -> None:
    off = make_client().get("/openapi.json").json()
    on = make_client(auth="api_key").get("/openapi.json").json()
    assert off == on
    assert on["paths"]["/v1/health"]["get"]["security"] == []
    assert on["paths"]["/v1/runs"]["post"]["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}]


def test_auth_off_ignores_credentials(make_client: AppFactory) -> None:
    client = make_client()
    assert client.get("/v1/runs", headers={"X-API-Key": "nonsense"}).status_code == 200


def test_a_key_revoked_while_the_server_runs_is_refused_at_once(
    make_client: AppFactory, keys: KeyStore
) -> None:
    client = make_client(auth="api_key")
    made, record = keys.create(role=Role.VIEWER)
    headers = {"X-API-Key": made.key}
    for _ in range(3):  # the server's threads now hold their read connections
        assert client.get("/v1/runs", headers=headers).status_code == 200
    keys.revoke(record.id)  # another connection, as `qers keys revoke` would
    assert client.get("/v1/runs", headers=headers).status_code == 401
