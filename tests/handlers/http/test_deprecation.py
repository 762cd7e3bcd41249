"""Deprecation (RFC 9745) and Sunset (RFC 8594) headers."""

from datetime import UTC, datetime, timedelta, timezone

from fastapi import FastAPI
from fastapi.testclient import TestClient

from handlers.http.deprecation import deprecation_headers, parse_contract_date
from handlers.http.middleware import install_middleware
from handlers.settings import Settings


def test_nothing_when_not_deprecated() -> None:
    assert deprecation_headers(None, None) == {}


def test_deprecation_is_a_structured_field_date() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert deprecation_headers(since, None) == {"Deprecation": "@1767225600"}


def test_sunset_is_an_http_date() -> None:
    sunset = datetime(2027, 1, 31, 12, 30, tzinfo=UTC)
    assert deprecation_headers(None, sunset) == {"Sunset": "Sun, 31 Jan 2027 12:30:00 GMT"}


def test_both_and_time_zones_are_normalised() -> None:
    plus_two = timezone(timedelta(hours=2))
    headers = deprecation_headers(
        datetime(2026, 1, 1, 2, 0, tzinfo=plus_two), datetime(2027, 1, 1, 2, 0, tzinfo=plus_two)
    )
    assert headers == {"Deprecation": "@1767225600", "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT"}


def test_naive_datetimes_are_utc() -> None:
    assert deprecation_headers(datetime(2026, 1, 1), None) == {"Deprecation": "@1767225600"}


def test_contract_dates() -> None:
    assert parse_contract_date("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_contract_date("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_contract_date("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_deprecated_route_answers_with_both_headers() -> None:
    app = FastAPI()

    @app.get(
        "/old",
        deprecated=True,
        openapi_extra={"x-deprecated-at": "2026-01-01", "x-sunset": "2027-01-31"},
    )
    async def old() -> dict[str, str]:
        return {}

    @app.get("/new")
    async def new() -> dict[str, str]:
        return {}

    install_middleware(app, Settings())
    client = TestClient(app)
    old_response = client.get("/old")
    assert old_response.headers["deprecation"] == "@1767225600"
    assert old_response.headers["sunset"] == "Sun, 31 Jan 2027 00:00:00 GMT"
    assert app.openapi()["paths"]["/old"]["get"]["deprecated"] is True
    assert "deprecation" not in client.get("/new").headers
