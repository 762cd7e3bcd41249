"""`Deprecation` (RFC 9745) and `Sunset` (RFC 8594) response headers."""

from datetime import UTC, date, datetime
from email.utils import format_datetime


def deprecation_headers(
    deprecated_since: datetime | None, sunset: datetime | None
) -> dict[str, str]:
    """Headers announcing deprecation and/or sunset; naive datetimes are taken as UTC."""
    headers: dict[str, str] = {}
    if deprecated_since is not None:
        # RFC 9745: an RFC 9651 structured-field Date, "@" then Unix seconds.
        headers["Deprecation"] = f"@{int(_as_utc(deprecated_since).timestamp())}"
    if sunset is not None:
        # RFC 8594: an IMF-fixdate, e.g. "Sat, 31 Jan 2026 00:00:00 GMT".
        headers["Sunset"] = format_datetime(_as_utc(sunset), usegmt=True)
    return headers


def parse_contract_date(value: str) -> datetime:
    """A contract's `x-deprecated-at`/`x-sunset`: an RFC 3339 date-time or a bare date (UTC)."""
    text = value.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    return _as_utc(datetime.fromisoformat(text))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def route_deprecation_headers(route: object) -> list[tuple[bytes, bytes]]:
    """Raw headers for a matched route the contract marks deprecated (else none).

    The contract's `x-deprecated-at` and `x-sunset` reach the route as `openapi_extra`.
    """
    if not getattr(route, "deprecated", False):
        return []
    extra = getattr(route, "openapi_extra", None) or {}
    since, sunset = extra.get("x-deprecated-at"), extra.get("x-sunset")
    headers = deprecation_headers(
        parse_contract_date(since) if since else None,
        parse_contract_date(sunset) if sunset else None,
    )
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
