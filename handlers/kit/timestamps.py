"""RFC 3339 timestamps in UTC with a `Z`, as every document and log line of QERS has them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["milliseconds", "microseconds"]


def rfc3339(moment: datetime | None = None, *, precision: Precision = "microseconds") -> str:
    """`moment` (default: now) in UTC, e.g. `2026-12-01T20:30:00.123456Z`.

    Run and batch documents and log lines keep microseconds (they order events);
    webhook deliveries keep milliseconds, as their contract examples do.
    """
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec=precision).replace("+00:00", "Z")
