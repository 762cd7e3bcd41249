"""How a creating operation answers: its status, its headers, and whether it was replayed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi import Response

REPLAYED_HEADER = "Idempotent-Replayed"


def answer_created(
    response: Response, *, status_code: int, headers: Mapping[str, str], replayed: bool
) -> None:
    """Status and headers of a create operation; replays say so in `Idempotent-Replayed`."""
    response.status_code = status_code
    response.headers.update(headers)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"


class Answered(Protocol):
    """A stored creating response (`handlers.idempotency.keys.StoredResponse`)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> Any: ...


class Submitted(Protocol):
    """A create's outcome: its response and whether it was replayed (`Outcome`)."""

    @property
    def response(self) -> Answered: ...
    @property
    def replayed(self) -> bool: ...


def answer_submitted(response: Response, submitted: Submitted) -> Any:
    """`answer_created` for an idempotent create's outcome; the body to return."""
    answered = submitted.response
    answer_created(
        response,
        status_code=answered.status_code,
        headers=answered.headers,
        replayed=submitted.replayed,
    )
    return answered.body
