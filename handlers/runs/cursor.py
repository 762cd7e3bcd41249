"""Run listing cursors (`handlers.kit.cursor`), bound to the run filters.

Clients must not build them; one that does not decode, names no run, or was issued for
other filters, is a 422 on the `cursor` parameter.
"""

from dataclasses import asdict, dataclass

from handlers.kit import cursor as keyset
from handlers.kit.cursor import Position
from handlers.runs.ids import is_valid_run_id


@dataclass(frozen=True, kw_only=True)
class RunFilters:
    """AND-combined listing filters; None means "any"."""

    status: str | None = None
    scenario: str | None = None
    tag: str | None = None
    profile: str | None = None
    batch_id: str | None = None
    project_id: str | None = None
    origin: str | None = None
    projects: tuple[str, ...] | None = None  # the caller's projects (`handlers.kit.caller`)

    def fingerprint(self) -> str:
        """A short digest of the filters, so a cursor only continues the same query."""
        return keyset.fingerprint(asdict(self))


def encode_cursor(position: Position, filters: RunFilters) -> str:
    """The cursor continuing after `position` for `filters`."""
    return keyset.encode_cursor(position, filters.fingerprint())


def decode_cursor(cursor: str, filters: RunFilters) -> Position:
    """The position a cursor holds.

    Raises:
        ValidationFailed: the cursor is malformed or belongs to other filters.
    """
    return keyset.decode_cursor(cursor, filters.fingerprint(), valid_id=is_valid_run_id)
