"""QERS_AUTH=jwt (and api_key,jwt) against the real app: RFC 8725 checks."""

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from tests.handlers.auth.conftest import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    AppFactory,
    claims,
    forged_hs256,
    hs256,
    key_for,
)

HS = {"auth": "jwt", "jwt_secret": HS_SECRET, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_hs256_token_reads(make_client: AppFactory) -> None:
    client = make_client(**HS)
    assert client.get("/v1/runs", headers=bearer(hs256())).status_code == 200
    refused = client.post("/v1/runs", json={"scenario": "drop_test"}, headers=bearer(hs256()))
    assert refused.status_code == 403


def test_no_token_is_401_bearer_challenge(make_client: AppFactory) -> None:
    answer = make_client(**HS).get("/v1/runs")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="qers"'


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(hs256(aud="someone-else"), id="wrong-aud"),
        pytest.param(hs256(iss="https://evil.example"), id="wrong-iss"),
        pytest.param(hs256(exp=int(time.time()) - 120), id="expired"),
        pytest.param(jwt.encode(claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(claims(), "x" * 48, algorithm="HS256"), id="wrong-secret"),
        pytest.param(
            jwt.encode({"sub": "a", "iss": ISSUER, "aud": AUDIENCE}, HS_SECRET), id="no-exp"
        ),
    ],
)
def test_invalid_tokens_are_401_invalid_token(make_client: AppFactory, token: str) -> None:
    answer = make_client(**HS).get("/v1/runs", headers=bearer(token))
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_token_without_a_role_is_403(make_client: AppFactory) -> None:
    answer = make_client(**HS).get("/v1/runs", headers=bearer(hs256(qers_role="pilot")))
    assert answer.status_code == 403


@pytest.fixture
def rsa_jwks(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public_jwk, "kid": "k1", "use": "sig"}]}))
    return private, path


def test_rs256_via_a_jwks_file(
    make_client: AppFactory, rsa_jwks: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    private, path = rsa_jwks
    settings = {**HS, "jwt_secret": None, "jwt_jwks": str(path)}
    client = make_client(**settings)
    token = jwt.encode(
        claims(qers_role="runner"), private, algorithm="RS256", headers={"kid": "k1"}
    )
    assert client.get("/v1/runs", headers=bearer(token)).status_code == 200
    # Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = forged_hs256(claims(qers_role="admin"), pem, kid="k1")
    answer = client.get("/v1/runs", headers=bearer(forged))
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    none = jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"})
    assert client.get("/v1/runs", headers=bearer(none)).status_code == 401


def test_both_kinds_accept_either(make_client: AppFactory, keys: KeyStore) -> None:
    client = make_client(**{**HS, "auth": "api_key,jwt"})
    assert client.get("/v1/runs", headers=bearer(hs256())).status_code == 200
    assert (
        client.get("/v1/runs", headers={"X-API-Key": key_for(keys, Role.VIEWER)}).status_code == 200
    )
    answer = client.get("/v1/runs")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'ApiKey realm="qers", Bearer realm="qers"'
