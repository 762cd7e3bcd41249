"""The error hierarchy, its documentation and the Problem contract agree."""

import json
from pathlib import Path

import pytest

from handlers.errors import (
    PROBLEM_TYPE_BASE,
    HttpStatusError,
    MethodNotAllowed,
    NotFoundError,
    QersError,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from handlers.http.problems import PROBLEM_CLASSES

ROOT = Path(__file__).resolve().parents[2]
ERRORS_DOC = ROOT / "docs" / "errors.md"
PROBLEM_SCHEMA = ROOT / "contracts" / "schemas" / "Problem.schema.json"


def test_every_type_is_unique_and_documented() -> None:
    doc = ERRORS_DOC.read_text(encoding="utf-8")
    slugs = [cls.type_slug for cls in PROBLEM_CLASSES]
    assert len(slugs) == len(set(slugs))
    for cls in PROBLEM_CLASSES:
        assert f"| `{PROBLEM_TYPE_BASE}{cls.type_slug}` | {cls.status} |" in doc, cls


def test_every_type_is_listed_in_the_problem_contract() -> None:
    if not PROBLEM_SCHEMA.exists():
        pytest.skip("no Problem contract yet")
    description = json.loads(PROBLEM_SCHEMA.read_text(encoding="utf-8"))["description"]
    for cls in PROBLEM_CLASSES:
        assert f"`{cls.type_slug}` ({cls.status}" in description, cls


def test_rate_limited_is_documented() -> None:
    # Joins PROBLEM_CLASSES once the Problem contract lists `rate-limited` (429).
    assert "| `urn:qers:problem:rate-limited` | 429 |" in ERRORS_DOC.read_text(encoding="utf-8")
    refused = RateLimited.retry_after("600 per minute", 12)
    assert refused.headers == {"Retry-After": "12"}
    assert refused.detail == "The rate limit of 600 per minute is reached; retry after 12 s."


def test_type_uri_and_about_blank() -> None:
    assert NotFoundError("x").type_uri() == "urn:qers:problem:not-found"
    teapot = HttpStatusError(418, "short and stout")
    assert (teapot.type_uri(), teapot.status, teapot.title) == ("about:blank", 418, "I'm a Teapot")
    assert QersError.status == 500  # the class default is untouched


def test_messages_are_built_here() -> None:
    assert NotFoundError.resource("run", "run_1").detail == "No run with id run_1."
    assert MethodNotAllowed.for_methods("PUT", "GET, POST").headers == {"Allow": "GET, POST"}
    assert ServiceUnavailable("down", retry_after_s=9).headers == {"Retry-After": "9"}


def test_validation_lists_at_most_the_limit() -> None:
    errors = [{"location": "body", "pointer": f"/{i}", "reason": "bad"} for i in range(150)]
    failed = ValidationFailed.for_fields(errors, limit=100)  # type: ignore[arg-type]
    assert len(failed.errors) == 100
    assert failed.detail == "150 fields are invalid (the first 100 are listed)."
