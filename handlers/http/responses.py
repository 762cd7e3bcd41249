"""How a creating operation answers: its status, its headers, and whether it was replayed."""

from __future__ import annotations

from collections.abc import Mapping

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
