"""JWT bearer tokens (PyJWT), validated following RFC 8725 (JWT Best Current Practices).

- The algorithm allow-list follows from the one configured key kind (3.1): HS256 for
  `QERS_JWT_SECRET`, RS256 or ES256 for the keys of `QERS_JWT_JWKS`, each JWKS key with the
  one algorithm its type (or its `alg`) names. `none` is never accepted, and a public key is
  never used as an HMAC secret (algorithm confusion).
- `exp`, `iss` and `aud` are required and checked (3.9, 3.10), with a 30 s leeway.
- The role and the projects come from configured claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from handlers.auth import refusals
from handlers.auth.roles import Role
from handlers.errors import ServiceUnavailable
from handlers.settings import Settings

HMAC_ALGORITHMS = ("HS256",)
PUBLIC_KEY_ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 30
REQUIRED_CLAIMS = ["exp", "iss", "aud"]
JWKS_CACHE_S = 300
JWKS_TIMEOUT_S = 5
JWKS_DOWN = "The token signing keys (JWKS) cannot be fetched; retry later."


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says about its bearer."""

    subject: str
    role: Role | None  # None: no known role in the role claim
    projects: tuple[str, ...]  # empty: every project


class TokenVerifier:
    """Checks bearer tokens against the configured key, issuer and audience."""

    def __init__(self, settings: Settings) -> None:
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._role_claim = settings.jwt_role_claim
        self._projects_claim = settings.jwt_projects_claim
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._client: jwt.PyJWKClient | None = None
        self._keys: dict[str | None, jwt.PyJWK] = {}
        source = settings.jwt_jwks
        if source and source.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(
                source, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=JWKS_TIMEOUT_S
            )
        elif source:
            self._keys = _file_keys(Path(source))

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The allow-list, from the configured key kind only."""
        return HMAC_ALGORITHMS if self._secret is not None else PUBLIC_KEY_ALGORITHMS

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; Unauthorized (invalid_token) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise refusals.invalid_token("malformed token") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise refusals.invalid_token(f"algorithm {algorithm!r} is not accepted")
        key = self._key_for(token, header, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise refusals.invalid_token("token expired") from None
        except jwt.InvalidAudienceError:
            raise refusals.invalid_token("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise refusals.invalid_token("wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise refusals.invalid_token(f"claim {exc.claim} missing") from None
        except jwt.InvalidTokenError:
            raise refusals.invalid_token("signature or claims invalid") from None
        return TokenClaims(
            subject=str(claims.get("sub", "")),
            role=_highest_role(claims.get(self._role_claim)),
            projects=_projects(claims.get(self._projects_claim)),
        )

    def _key_for(self, token: str, header: dict[str, Any], algorithm: str) -> Any:
        if self._secret is not None:
            return self._secret
        if self._client is not None:
            try:
                found = self._client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError:
                raise ServiceUnavailable(JWKS_DOWN) from None
            except (jwt.PyJWKClientError, jwt.InvalidTokenError):
                raise refusals.invalid_token("no signing key matches the token") from None
        else:
            kid = header.get("kid")
            only = next(iter(self._keys.values())) if len(self._keys) == 1 else None
            chosen = self._keys.get(kid) or (only if kid is None else None)
            if chosen is None:
                raise refusals.invalid_token("no signing key matches the token")
            found = chosen
        # Each key is used with its one algorithm only.
        if found.algorithm_name != algorithm:
            raise refusals.invalid_token(f"algorithm {algorithm!r} does not fit the key")
        return found


def _file_keys(path: Path) -> dict[str | None, jwt.PyJWK]:
    """The RS256/ES256 keys of a JWKS file, by `kid`; ValueError for a bad file."""
    try:
        keys = jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8")).keys
    except (OSError, jwt.PyJWKSetError, jwt.InvalidKeyError) as exc:
        raise ValueError(f"QERS_JWT_JWKS {path}: not a readable JWKS: {exc}") from exc
    usable = {key.key_id: key for key in keys if key.algorithm_name in PUBLIC_KEY_ALGORITHMS}
    if not usable:
        raise ValueError(f"QERS_JWT_JWKS {path}: no RS256 or ES256 key")
    return usable


def _highest_role(value: object) -> Role | None:
    values = value if isinstance(value, list) else [value]
    roles = [role for role in map(Role.parse, values) if role is not None]
    return max(roles) if roles else None


def _projects(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    if isinstance(value, str) and value not in ("", "*"):
        return (value,)
    return ()
