"""One problem of a design request, located by a JSON pointer into the request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """`pointer` (RFC 6901) names the member at fault; `detail` is a sentence naming its value."""

    pointer: str
    detail: str
