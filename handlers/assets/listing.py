"""Pages of assets, newest first, filtered; cursors bound to their filters.

A cursor is unpadded urlsafe base64 of `{"c": created_at, "i": asset_id, "f": fingerprint}`
(contracts/schemas/Cursor.schema.json); one that does not decode, or was issued for other
filters, is a 422 on `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from handlers.errors import ValidationFailed

MAX_LIMIT = 1000
_POINTER = "/cursor"


@dataclass(frozen=True, kw_only=True)
class AssetFilters:
    """AND-combined filters of `listAssets`; None means "any"."""

    project_id: str | None = None
    format: str | None = None
    tag: str | None = None

    def admits(self, asset: dict[str, Any]) -> bool:
        """Whether `asset` passes every filter."""
        return (
            (self.project_id is None or asset["project_id"] == self.project_id)
            and (self.format is None or asset["format"] == self.format)
            and (self.tag is None or self.tag in asset["tags"])
        )

    def fingerprint(self) -> str:
        """A short digest of the filters, so a cursor only continues the same query."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def page(
    assets: Sequence[dict[str, Any]], filters: AssetFilters, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The page after `cursor` of `assets` (sorted newest first) that pass `filters`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.at("/limit", f"must be between 1 and {MAX_LIMIT}", location="query")
    after = _decode(cursor, filters) if cursor is not None else None
    chosen = [a for a in assets if filters.admits(a) and (after is None or _key(a) < after)]
    items = chosen[:limit]
    if len(chosen) <= limit:
        return items, None
    return items, _encode(_key(items[-1]), filters)


def _key(asset: dict[str, Any]) -> tuple[str, str]:
    return asset["created_at"], asset["id"]


def _encode(key: tuple[str, str], filters: AssetFilters) -> str:
    payload = {"c": key[0], "i": key[1], "f": filters.fingerprint()}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, filters: AssetFilters) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        data = None
    valid = (
        isinstance(data, dict)
        and set(data) == {"c", "i", "f"}
        and all(isinstance(data[k], str) for k in ("c", "i", "f"))
    )
    if not valid:
        reason = "is not a cursor returned by this API; start again without a cursor"
        raise ValidationFailed.at(_POINTER, reason, location="query")
    if data["f"] != filters.fingerprint():
        reason = "was issued for different filters; start again without a cursor"
        raise ValidationFailed.at(_POINTER, reason, location="query")
    return data["c"], data["i"]
