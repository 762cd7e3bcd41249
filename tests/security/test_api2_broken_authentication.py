"""OWASP API2:2023 Broken Authentication, tried for real.

API keys against the real app: missing, malformed, forged, unknown, revoked and expired keys
each get the same 401 problem with a challenge (no oracle tells which); a revoked key stops
working on the next request; the key is never echoed in an answer or a log line, and the
access line names the principal by key id. Bearer tokens: `alg: none`, tampering, wrong
issuer or audience, expiry, a missing `exp`, and HS256 "signed" with the RSA public key of a
JWKS served by a real loopback HTTP server. Unknown key ids and wrong secrets go through the
same comparison. Brute force is bounded by rate limits (tests/handlers/http).
"""

from __future__ import annotations

import hmac
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from handlers.app import create_app
from handlers.auth import refusals
from handlers.auth.keys import split_key
from handlers.auth.roles import Role
from handlers.auth.service import Authenticator
from handlers.auth.store import KeyStore
from handlers.errors import Unauthorized
from handlers.kit.logging import configure_logging
from handlers.settings import Settings
from tests.handlers.auth.conftest import AUDIENCE, HS_SECRET, ISSUER, claims, forged_hs256

RUN = {"scenario": "drop_test", "options": {"steps": 20}}
Keys = dict[str, str]  # name -> a whole key
KEY_CHALLENGE = 'ApiKey realm="qers"'
BEARER_CHALLENGE = 'Bearer realm="qers", error="invalid_token"'


@dataclass(frozen=True)
class Site:
    client: TestClient
    store: KeyStore
    keys: Keys


def _made(store: KeyStore, role: Role, **options: Any) -> str:
    made, _ = store.create(role=role, **options)
    return made.key


def _parts(key: str) -> tuple[str, str]:
    parts = split_key(key)
    assert parts is not None
    return parts


def _forged(key: str) -> str:
    """The same key id with another secret of the right shape."""
    return key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    runs_dir = tmp_path_factory.mktemp("api2")
    store = KeyStore(runs_dir)
    runner = _made(store, Role.RUNNER)
    revoked = _made(store, Role.ADMIN)
    store.revoke(_parts(revoked)[0])
    past = datetime.now(UTC) - timedelta(days=2)
    expired = _made(store, Role.ADMIN, lifetime=timedelta(days=1), now=past)
    keys = {"runner": runner, "revoked": revoked, "expired": expired}
    settings = Settings(runs_dir=runs_dir, warm_spares=0, auth=("api_key",))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Site(client, store, keys)


@pytest.fixture
def logs(site: Site) -> Iterator[io.StringIO]:
    """Every log line written while the test runs (set after the app configured logging)."""
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    configure_logging("INFO")


# What an attacker presents instead of a valid key, made from the site's keys.
REFUSED: dict[str, Callable[[Keys], dict[str, str]]] = {
    "none": lambda keys: {},
    "empty": lambda keys: {"X-API-Key": ""},
    "malformed": lambda keys: {"X-API-Key": "let-me-in"},
    "wrong-secret": lambda keys: {"X-API-Key": _forged(keys["runner"])},
    "unknown-key-id": lambda keys: {"X-API-Key": "qers_" + "0" * 16 + keys["runner"][21:]},
    "revoked": lambda keys: {"X-API-Key": keys["revoked"]},
    "expired": lambda keys: {"X-API-Key": keys["expired"]},
    "key-as-bearer": lambda keys: {"Authorization": f"Bearer {keys['runner']}"},  # jwt is off
    "key-in-cookie": lambda keys: {"Cookie": f"X-API-Key={keys['runner']}"},
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_requests_without_valid_credentials_are_401_problems(site: Site, case: str) -> None:
    headers = REFUSED[case](site.keys)
    before = _stored(site)
    for method, path, body in [("GET", "/v1/runs", None), ("POST", "/v1/runs", RUN)]:
        answer = site.client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["WWW-Authenticate"] == KEY_CHALLENGE
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:qers:problem:unauthorized"
    assert _stored(site) == before


def _stored(site: Site) -> int:
    answer = site.client.get("/v1/runs?limit=1000", headers={"X-API-Key": site.keys["runner"]})
    return len(answer.json()["items"])


def test_a_key_in_the_query_string_is_not_a_credential(site: Site) -> None:
    answer = site.client.get("/v1/runs", params={"api_key": site.keys["runner"]})
    assert answer.status_code == 401


def test_every_bad_key_gets_the_same_answer(site: Site) -> None:
    """No oracle: unknown, forged, revoked and expired keys cannot be told apart."""
    answers = set()
    for case in ("malformed", "wrong-secret", "unknown-key-id", "revoked", "expired"):
        answer = site.client.get("/v1/runs", headers=REFUSED[case](site.keys))
        problem = answer.json()
        answers.add((answer.status_code, problem["title"], problem["detail"]))
        assert answer.headers["WWW-Authenticate"] == KEY_CHALLENGE
    assert answers == {(401, "Unauthorized", refusals.INVALID_KEY)}


def test_a_revoked_key_stops_working_at_once(site: Site) -> None:
    key = _made(site.store, Role.VIEWER)
    headers = {"X-API-Key": key}
    assert site.client.get("/v1/runs", headers=headers).status_code == 200
    site.store.revoke(_parts(key)[0])
    assert site.client.get("/v1/runs", headers=headers).status_code == 401


def test_the_key_is_never_echoed_in_answers_or_logs(site: Site, logs: io.StringIO) -> None:
    runner = site.keys["runner"]
    key_id, secret = _parts(runner)
    answers = []
    for key in (runner, _forged(runner), site.keys["revoked"]):
        headers = {"X-API-Key": key}
        answers += [
            site.client.post("/v1/runs", json=RUN, headers=headers),  # 201 or 401
            site.client.get("/v1/runs/run_0123456789abcdef01234567", headers=headers),  # 404
            site.client.post("/v1/runs", json={"scenario": 7}, headers=headers),  # 422
            site.client.post("/api/projects", json={"name": "p"}, headers=headers),  # 403
            site.client.get(f"/v1/runs?api_key={key}", headers=headers),
        ]
    assert {answer.status_code for answer in answers} >= {201, 401, 403, 404, 422}
    written = logs.getvalue()
    assert f"key:{key_id}" in written  # the access lines name who called
    for key in (runner, _forged(runner), site.keys["revoked"]):
        tail = _parts(key)[1]
        for answer in answers:
            assert tail not in answer.text
            assert not any(tail in value for value in answer.headers.values())
        assert tail not in written
    assert secret not in written


def test_the_access_line_names_the_principal_by_key_id(site: Site, logs: io.StringIO) -> None:
    runner = site.keys["runner"]
    key_id = _parts(runner)[0]
    headers = {"X-API-Key": runner, "X-Request-ID": "api2-access-line"}
    assert site.client.get("/v1/runs", headers=headers).status_code == 200
    anonymous = {"X-Request-ID": "api2-access-anon"}
    assert site.client.get("/v1/runs", headers=anonymous).status_code == 401
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line.get("logger") == "qers.access"}
    assert access["api2-access-line"]["principal"] == f"key:{key_id}"
    assert "principal" not in access["api2-access-anon"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _unsigned(payload: dict[str, Any], alg: str) -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(payload).encode())
    return f"{header.decode()}.{body.decode()}."


def _tampered() -> str:
    """A valid viewer token whose payload was rewritten to admin, signature kept."""
    header, _, signature = jwt.encode(claims(), HS_SECRET, algorithm="HS256").split(".")
    body = jwt.utils.base64url_encode(json.dumps(claims(qers_role="admin")).encode()).decode()
    return f"{header}.{body}.{signature}"


def _no_exp() -> str:
    payload = {k: v for k, v in claims().items() if k != "exp"}
    return jwt.encode(payload, HS_SECRET, algorithm="HS256")


TOKENS: dict[str, Callable[[], str]] = {
    "alg-none": lambda: _unsigned(claims(qers_role="admin"), "none"),
    "alg-None": lambda: _unsigned(claims(qers_role="admin"), "None"),
    "tampered-payload": _tampered,
    "wrong-secret": lambda: jwt.encode(claims(), "x" * 48, algorithm="HS256"),
    "wrong-issuer": lambda: jwt.encode(claims(iss="https://evil.example"), HS_SECRET),
    "wrong-audience": lambda: jwt.encode(claims(aud="someone-else"), HS_SECRET),
    "expired": lambda: jwt.encode(claims(exp=int(datetime.now(UTC).timestamp()) - 120), HS_SECRET),
    "missing-exp": _no_exp,
    "not-a-jwt": lambda: "qers.is.great",
}


@pytest.fixture(scope="module")
def hs_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = Settings(
        runs_dir=tmp_path_factory.mktemp("api2-hs"),
        warm_spares=0,
        auth=("jwt",),
        jwt_secret=HS_SECRET,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    return TestClient(create_app(settings))


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_forged_and_invalid_tokens_are_401_invalid_token(hs_client: TestClient, name: str) -> None:
    answer = hs_client.get("/v1/runs", headers=_bearer(TOKENS[name]()))
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith(BEARER_CHALLENGE)
    assert answer.json()["type"] == "urn:qers:problem:unauthorized"


def test_a_valid_token_passes(hs_client: TestClient) -> None:
    token = jwt.encode(claims(), HS_SECRET, algorithm="HS256")
    assert hs_client.get("/v1/runs", headers=_bearer(token)).status_code == 200


# --- JWKS served over HTTP by a real loopback server -----------------------------------


class _Jwks(BaseHTTPRequestHandler):
    document = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Issuer:
    client: TestClient
    private: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    handler = type("Handler", (_Jwks,), {"document": document.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    settings = Settings(
        runs_dir=tmp_path_factory.mktemp("api2-jwks"),
        warm_spares=0,
        auth=("jwt",),
        jwt_jwks=url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    try:
        yield Issuer(TestClient(create_app(settings)), private)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _rs256(private: rsa.RSAPrivateKey, kid: str = "k1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), private, algorithm="RS256", headers={"kid": kid})


def test_a_token_signed_by_the_jwks_key_is_accepted(issuer: Issuer) -> None:
    answer = issuer.client.get("/v1/runs", headers=_bearer(_rs256(issuer.private)))
    assert answer.status_code == 200, answer.text


def test_a_token_signed_by_another_key_is_refused(issuer: Issuer) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (_rs256(other), _rs256(other, kid="k2"), _rs256(issuer.private, kid="k2")):
        answer = issuer.client.get("/v1/runs", headers=_bearer(token))
        assert answer.status_code == 401, answer.text
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_hs256_signed_with_the_public_key_is_refused(issuer: Issuer) -> None:
    """Algorithm confusion: the published RSA key used as an HMAC secret."""
    pem = issuer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for kid in ("k1", None):
        forged = forged_hs256(claims(qers_role="admin"), pem, kid=kid)
        answer = issuer.client.get("/v1/runs", headers=_bearer(forged))
        assert answer.status_code == 401, answer.text
    unsigned = _unsigned(claims(qers_role="admin"), "none")
    assert issuer.client.get("/v1/runs", headers=_bearer(unsigned)).status_code == 401


# --- One comparison whatever is wrong with a key ---------------------------------------


@dataclass
class _Comparisons:
    seen: list[tuple[str, str]]

    def __call__(self, a: Any, b: Any) -> bool:
        self.seen.append((a, b))
        return _REAL_COMPARE(a, b)


_REAL_COMPARE = hmac.compare_digest


def test_unknown_key_ids_and_wrong_secrets_make_the_same_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a timing measurement: both refusals run one constant-time comparison of two
    SHA-256 digests, so neither leaves early."""
    store = KeyStore(tmp_path)
    key = _made(store, Role.VIEWER)
    gate = Authenticator(Settings(runs_dir=tmp_path, auth=("api_key",)), keys=store)
    spy = _Comparisons([])
    monkeypatch.setattr(hmac, "compare_digest", spy)
    for presented in (_forged(key), "qers_" + "f" * 16 + key[21:], "let-me-in"):
        spy.seen.clear()
        with pytest.raises(Unauthorized):
            gate.authenticate({"x-api-key": presented})
        assert len(spy.seen) == 1, presented
        ((ours, stored),) = spy.seen
        assert len(ours) == len(stored) == 64
    spy.seen.clear()
    assert gate.authenticate({"x-api-key": key}).role is Role.VIEWER
    assert len(spy.seen) == 1
