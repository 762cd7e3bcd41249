"""Pages of assets, newest first, filtered; cursors (`handlers.kit.cursor`) bound to the
filters they were issued for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.assets.store import ASSET_ID
from handlers.errors import ValidationFailed
from handlers.kit.cursor import Position, decode_cursor, encode_cursor, fingerprint
from handlers.kit.ids import matches

MAX_LIMIT = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class AssetFilters:
    """AND-combined filters of `listAssets`; None means "any"."""

    project_id: str | None = None
    format: str | None = None
    tag: str | None = None
    projects: tuple[str, ...] | None = None  # the caller's projects (`handlers.kit.caller`)

    def admits(self, asset: dict[str, Any]) -> bool:
        """Whether `asset` passes every filter."""
        return (
            (self.project_id is None or asset["project_id"] == self.project_id)
            and (self.projects is None or asset["project_id"] in self.projects)
            and (self.format is None or asset["format"] == self.format)
            and (self.tag is None or self.tag in asset["tags"])
        )


def page(
    assets: Sequence[dict[str, Any]], filters: AssetFilters, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The page after `cursor` of `assets` (sorted newest first) that pass `filters`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.at("/limit", f"must be between 1 and {MAX_LIMIT}", location="query")
    issued_for = fingerprint(asdict(filters))
    after = None
    if cursor is not None:
        after = decode_cursor(cursor, issued_for, valid_id=lambda i: matches(ASSET_ID, i))
    chosen = [a for a in assets if filters.admits(a) and (after is None or _position(a) < after)]
    items = chosen[:limit]
    if len(chosen) <= limit:
        return items, None
    return items, encode_cursor(_position(items[-1]), issued_for)


def _position(asset: dict[str, Any]) -> Position:
    moment = datetime.fromisoformat(asset["created_at"])
    return Position((moment - _EPOCH) // datetime.resolution, asset["id"])
