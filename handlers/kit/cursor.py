"""Opaque keyset cursors: the position after a page's last item, bound to the filters.

A cursor is unpadded urlsafe base64 of `{"c": created_us, "i": item_id, "f": fingerprint}`
(matching contracts/schemas/Cursor.schema.json). Clients must not build them; one that
does not decode, or was issued for other filters, is a 422 on the `cursor` parameter.
Listings order by (created_us DESC, id DESC); `fingerprint` digests their filters.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from handlers.errors import ValidationFailed

CURSOR_POINTER = "/cursor"
_CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,512}$")
_NOT_A_CURSOR = "is not a cursor returned by this API; start again without a cursor"
_OTHER_FILTERS = "was issued for different filters; start again without a cursor"
_MAX_US = 2**62


class Position(NamedTuple):
    """A place in the listing order (created_at DESC, id DESC)."""

    created_us: int
    item_id: str


def fingerprint(filters: Mapping[str, object]) -> str:
    """A short digest of `filters` (JSON values), so a cursor only continues the same query."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def encode_cursor(position: Position, filters_fingerprint: str) -> str:
    """The cursor continuing after `position` for the filters with that fingerprint."""
    payload = {"c": position.created_us, "i": position.item_id, "f": filters_fingerprint}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, filters_fingerprint: str, *, valid_id: Callable[[object], bool]
) -> Position:
    """The position a cursor holds; `valid_id` checks the item id it names.

    Raises:
        ValidationFailed: the cursor is malformed or belongs to other filters.
    """
    payload = _payload(cursor, valid_id)
    if payload is None:
        raise ValidationFailed.at(CURSOR_POINTER, _NOT_A_CURSOR, location="query")
    created_us, item_id, issued_for = payload
    if issued_for != filters_fingerprint:
        raise ValidationFailed.at(CURSOR_POINTER, _OTHER_FILTERS, location="query")
    return Position(created_us, item_id)


def _payload(cursor: str, valid_id: Callable[[object], bool]) -> tuple[int, str, str] | None:
    if not isinstance(cursor, str) or not _CURSOR_PATTERN.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or set(data) != {"c", "i", "f"}:
        return None
    created_us, item_id, issued_for = data["c"], data["i"], data["f"]
    if type(created_us) is not int or not -_MAX_US < created_us < _MAX_US:
        return None
    if not valid_id(item_id) or not isinstance(issued_for, str):
        return None
    return created_us, item_id, issued_for
