"""Opaque listing cursors: the position after a page's last run, bound to the filters.

A cursor is unpadded urlsafe base64 of `{"c": created_us, "i": run_id, "f": fingerprint}`
(matching contracts/schemas/Cursor.schema.json). Clients must not build them; one that
does not decode, or was issued for other filters, is a 422 on the `cursor` parameter.
"""

import base64
import binascii
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import NamedTuple

from handlers.errors import ValidationFailed
from handlers.runs.ids import is_valid_run_id

CURSOR_POINTER = "/cursor"
_CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,512}$")
_NOT_A_CURSOR = "is not a cursor returned by this API; start again without a cursor"
_OTHER_FILTERS = "was issued for different filters; start again without a cursor"
_MAX_US = 2**62


@dataclass(frozen=True, kw_only=True)
class RunFilters:
    """AND-combined listing filters; None means "any"."""

    status: str | None = None
    scenario: str | None = None
    tag: str | None = None
    profile: str | None = None
    batch_id: str | None = None
    origin: str | None = None

    def fingerprint(self) -> str:
        """A short digest of the filters, so a cursor only continues the same query."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Position(NamedTuple):
    """A place in the listing order (created_at DESC, id DESC)."""

    created_us: int
    run_id: str


def encode_cursor(position: Position, filters: RunFilters) -> str:
    """The cursor continuing after `position` for `filters`."""
    payload = {"c": position.created_us, "i": position.run_id, "f": filters.fingerprint()}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, filters: RunFilters) -> Position:
    """The position a cursor holds.

    Raises:
        ValidationFailed: the cursor is malformed or belongs to other filters.
    """
    payload = _payload(cursor)
    if payload is None:
        raise ValidationFailed.at(CURSOR_POINTER, _NOT_A_CURSOR, location="query")
    created_us, run_id, fingerprint = payload
    if fingerprint != filters.fingerprint():
        raise ValidationFailed.at(CURSOR_POINTER, _OTHER_FILTERS, location="query")
    return Position(created_us, run_id)


def _payload(cursor: str) -> tuple[int, str, str] | None:
    if not isinstance(cursor, str) or not _CURSOR_PATTERN.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or set(data) != {"c", "i", "f"}:
        return None
    created_us, run_id, fingerprint = data["c"], data["i"], data["f"]
    if type(created_us) is not int or not -_MAX_US < created_us < _MAX_US:
        return None
    if not is_valid_run_id(run_id) or not isinstance(fingerprint, str):
        return None
    return created_us, run_id, fingerprint
