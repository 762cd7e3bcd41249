"""The negotiation module codegen writes: which offered media type an `Accept` prefers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from codegen.negotiation import NEGOTIATION_MODULE

OFFERED = ("application/json", "application/octet-stream")
Preferred = Callable[[str | None, Sequence[str]], str | None]


@pytest.fixture(scope="module")
def preferred() -> Preferred:
    namespace: dict[str, object] = {}
    exec(compile(NEGOTIATION_MODULE, "negotiation.py", "exec"), namespace)  # noqa: S102
    function: Preferred = namespace["preferred"]  # type: ignore[assignment]
    return function


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/octet-stream", "application/octet-stream"),
        ("Application/Octet-Stream", "application/octet-stream"),
        ("application/json;q=0.5, application/octet-stream", "application/octet-stream"),
        ("application/octet-stream;q=0.5, */*;q=0.9", "application/json"),
        ("*/*;q=0.1, application/json;q=0", "application/octet-stream"),
        ("text/html, application/xhtml+xml, */*;q=0.8", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("text/csv", None),
        ("application/json;q=0, application/octet-stream;q=0", None),
        ("garbage", None),
        ("application/json;q=abc, application/octet-stream", "application/octet-stream"),
        ("application/json;q=2", None),
    ],
)
def test_preferred_media_type(
    preferred: Preferred, accept: str | None, expected: str | None
) -> None:
    assert preferred(accept, OFFERED) == expected
