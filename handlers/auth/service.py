"""Who is calling, and may they: credentials to a `Principal`, the role table to a verdict."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import structlog

from handlers.auth import refusals
from handlers.auth.keys import hash_secret, split_key
from handlers.auth.roles import MINIMUM_ROLE, Role
from handlers.auth.store import KeyStore
from handlers.auth.tokens import TokenVerifier
from handlers.settings import Settings

API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "authorization"
# Compared against when the key id is unknown, so both paths do the same work.
_DUMMY_HASH = hash_secret("0" * 43)

_log = structlog.get_logger("qers.auth")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: `key:<id>` or `jwt:<sub>`, its role and its projects."""

    id: str
    kind: Literal["api_key", "jwt"]
    role: Role | None
    projects: tuple[str, ...]  # empty: every project


class Authenticator:
    """The enabled credential kinds (`QERS_AUTH`) and the checks of each."""

    def __init__(
        self, settings: Settings, *, keys: KeyStore, tokens: TokenVerifier | None = None
    ) -> None:
        self._api_keys = "api_key" in settings.auth
        self._keys = keys
        self._tokens = tokens if "jwt" in settings.auth else None
        if "jwt" in settings.auth and self._tokens is None:
            self._tokens = TokenVerifier(settings)
        self.protect_docs = settings.auth_protect_docs

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal the request's credentials name; Unauthorized if none is valid.

        `headers`: lower-case names. An API key wins over a bearer token when both come.
        """
        key = headers.get(API_KEY_HEADER)
        if self._api_keys and key:
            return self._by_key(key)
        scheme, _, token = headers.get(AUTHORIZATION_HEADER, "").partition(" ")
        if self._tokens is not None and scheme.lower() == "bearer" and token.strip():
            claims = self._tokens.verify(token.strip())
            return Principal(f"jwt:{claims.subject}", "jwt", claims.role, claims.projects)
        raise refusals.missing_credentials(self._challenges())

    def admit(self, operation_id: str, headers: Mapping[str, str]) -> Principal | None:
        """The principal, when it holds the operation's role; None for public operations."""
        # An operation missing from the table needs the highest role: fail closed.
        needed = MINIMUM_ROLE.get(operation_id, Role.ADMIN)
        if needed is None:
            return None
        principal = self.authenticate(headers)
        if principal.role is None or principal.role < needed:
            held = principal.role.label if principal.role else None
            _log.info("forbidden", principal=principal.id, operation=operation_id)
            raise refusals.needs_role(operation_id, needed.label, held)
        return principal

    def _by_key(self, key: str) -> Principal:
        parts = split_key(key)
        record = self._keys.find(parts[0]) if parts else None
        presented = hash_secret(parts[1]) if parts else _DUMMY_HASH
        # Constant time: how much of a hash matched must not show in the answer's timing.
        matched = hmac.compare_digest(presented, record.secret_hash if record else _DUMMY_HASH)
        if record is None or not matched:
            _log.info("api_key_rejected", key_id=parts[0] if parts else None, reason="unknown")
            raise refusals.invalid_key()
        if record.revoked_at is not None or record.expired(datetime.now(UTC)):
            reason = "revoked" if record.revoked_at else "expired"
            _log.info("api_key_rejected", key_id=record.id, reason=reason)
            raise refusals.invalid_key()
        return Principal(f"key:{record.id}", "api_key", record.role, record.projects)

    def _challenges(self) -> list[str]:
        return [*(["ApiKey"] if self._api_keys else []), *(["Bearer"] if self._tokens else [])]
