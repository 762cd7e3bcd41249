"""API keys in SQLite (`RUNS_DIR/.keys.sqlite3`), shared by the CLI and every server process.

Only the SHA-256 of each secret is stored. A key is never deleted: revoking it stamps
`revoked_at`, so `qers keys list` keeps telling what existed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.auth.keys import KEY_ID_PATTERN, NewKey, new_key
from handlers.auth.roles import Role
from handlers.errors import NotFoundError, ServiceUnavailable
from handlers.kit.sqlite import SharedDatabase
from handlers.kit.timestamps import rfc3339

KEYS_FILE = ".keys.sqlite3"
UNAVAILABLE = "API key storage is busy or unavailable; retry later."
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    projects TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    expires_us INTEGER,
    revoked_at TEXT
)
"""
_FIELDS = "id, name, role, projects, secret_hash, created_at, expires_at, expires_us, revoked_at"
# Built from constants only.
_INSERT = f"INSERT INTO api_keys ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_SELECT = f"SELECT {_FIELDS} FROM api_keys"  # noqa: S608


@dataclass(frozen=True)
class KeyRecord:
    """One stored key, without its secret (`secret_hash` is never shown)."""

    id: str
    name: str
    role: Role
    projects: tuple[str, ...]  # empty: every project
    secret_hash: str
    created_at: str
    expires_at: str | None
    expires_us: int | None
    revoked_at: str | None

    def expired(self, now: datetime) -> bool:
        """Whether the key has expired at `now`."""
        return self.expires_us is not None and _micros(now) >= self.expires_us

    def public(self) -> dict[str, object]:
        """What `qers keys list` shows: everything but the hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.label,
            "projects": list(self.projects),
            "created": self.created_at,
            "expires": self.expires_at,
            "revoked": self.revoked_at,
        }


class KeyStore:
    """Create, list, find and revoke API keys."""

    def __init__(self, runs_dir: Path) -> None:
        self._db = SharedDatabase(
            runs_dir / KEYS_FILE,
            schema=_SCHEMA,
            unavailable=lambda exc: ServiceUnavailable(UNAVAILABLE),
        )

    def create(
        self,
        *,
        role: Role,
        projects: Sequence[str] = (),
        name: str = "",
        lifetime: timedelta | None = None,
        now: datetime | None = None,
    ) -> tuple[NewKey, KeyRecord]:
        """A new key; the caller shows `NewKey.key` once, it is not kept."""
        now = now or datetime.now(UTC)
        made = new_key()
        expires = now + lifetime if lifetime is not None else None
        row = (
            made.key_id,
            name,
            role.label,
            json.dumps(list(projects)),
            made.secret_hash,
            rfc3339(now),
            rfc3339(expires) if expires else None,
            _micros(expires) if expires else None,
            None,
        )
        with self._db.session(immediate=True) as db:
            db.execute(_INSERT, row)
        return made, _record(row)

    def find(self, key_id: str) -> KeyRecord | None:
        """The key with this id, revoked and expired ones included; None if unknown."""
        if not KEY_ID_PATTERN.fullmatch(key_id):
            return None
        with self._db.reader() as db:
            row = db.execute(_SELECT + " WHERE id = ?", (key_id,)).fetchone()
        return _record(row) if row else None

    def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        with self._db.session() as db:
            rows = db.execute(_SELECT + " ORDER BY created_at, id").fetchall()
        return [_record(row) for row in rows]

    def revoke(self, key_id: str, *, now: datetime | None = None) -> KeyRecord:
        """Revoke a key (again: no change); NotFoundError if unknown."""
        stamp = rfc3339(now or datetime.now(UTC))
        with self._db.session(immediate=True) as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (stamp, key_id),
            )
        found = self.find(key_id)
        if found is None:
            raise NotFoundError.resource("API key", key_id)
        return found


def _record(row: sqlite3.Row | tuple[object, ...]) -> KeyRecord:
    key_id, name, role, projects, secret_hash, created, expires, expires_us, revoked = row
    parsed = Role.parse(role)
    if parsed is None:
        raise ServiceUnavailable(UNAVAILABLE)  # a row nothing here wrote
    return KeyRecord(
        id=str(key_id),
        name=str(name),
        role=parsed,
        projects=tuple(json.loads(str(projects))),
        secret_hash=str(secret_hash),
        created_at=str(created),
        expires_at=None if expires is None else str(expires),
        expires_us=None if expires_us is None else int(str(expires_us)),
        revoked_at=None if revoked is None else str(revoked),
    )


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)
