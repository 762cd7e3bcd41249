"""The real app with auth on, a key store in its RUNS_DIR, and token helpers."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.settings import Settings

ISSUER = "https://issuer.example"
AUDIENCE = "qers-tests"
HS_SECRET = "s" * 48
AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> AppFactory:
    """A TestClient of the real app in `tmp_path` with these settings (auth=... etc.)."""

    def make(**overrides: Any) -> TestClient:
        settings = Settings(runs_dir=tmp_path, warm_spares=0, **overrides)
        return TestClient(create_app(settings))

    return make


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path)


def key_for(store: KeyStore, role: Role, **options: Any) -> str:
    made, _record = store.create(role=role, **options)
    return made.key


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "ada", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now}
    base["qers_role"] = "viewer"
    return {**base, **overrides}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), HS_SECRET, algorithm="HS256")


def forged_hs256(payload: dict[str, Any], secret: bytes, kid: str | None = None) -> str:
    """An HS256 token signed with `secret` by hand (PyJWT refuses a PEM as an HMAC key)."""
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    parts = [_b64(json.dumps(part).encode()) for part in (header, payload)]
    signing_input = ".".join(parts).encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return ".".join([*parts, _b64(signature)])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
