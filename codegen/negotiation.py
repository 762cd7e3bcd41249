"""Content negotiation for operations whose success response has several media types.

The contract lists the media types (JSON first, then binary ones); the generated route
hands its handler the one the request's `Accept` prefers, or None when it allows none, so
the handler can answer 406 (or let a query parameter such as `format` decide).
"""

from __future__ import annotations

NEGOTIATION_MODULE = '''"""The media type an `Accept` header prefers (RFC 9110)."""

from collections.abc import Sequence


def preferred(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type with the highest quality, the first offered on a tie.

    No `Accept` (or an empty one) accepts anything. The most specific range that matches an
    offered type gives its quality (`type/sub` over `type/*` over `*/*`); `q=0` refuses it.
    None when `Accept` allows none of `offered`.
    """
    if accept is None or not accept.strip():
        return offered[0] if offered else None
    ranges = [parsed for item in accept.split(",") if (parsed := _media_range(item))]
    best, best_q = None, 0.0
    for media_type in offered:
        q = _quality(media_type.lower(), ranges)
        if q > best_q:
            best, best_q = media_type, q
    return best


def _media_range(item: str) -> tuple[str, float] | None:
    kind, *params = (part.strip() for part in item.split(";"))
    if kind.count("/") != 1:
        return None
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0:
                return None
    return kind.lower(), q


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    main = media_type.split("/")[0]
    for candidate in (media_type, f"{main}/*", "*/*"):
        matches = [q for kind, q in ranges if kind == candidate]
        if matches:
            return max(matches)
    return 0.0
'''
