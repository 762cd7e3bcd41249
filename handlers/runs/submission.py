"""Creating a run behind an Idempotency-Key: what `/v1/runs` and `/api/sim/run` answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.idempotency.keys import StoredResponse, respond_once
from handlers.runs import record as runrecord
from handlers.runs.request import RunRequest
from handlers.runs.service import RunService


@dataclass(frozen=True)
class Submission:
    """What a create operation answers: the run, status code and headers; `replayed` when
    an Idempotency-Key matched an earlier request."""

    run: dict[str, Any]
    status_code: int
    headers: dict[str, str]
    replayed: bool


async def submit(
    runs: RunService,
    request: RunRequest,
    *,
    origin: str,
    idempotency_key: str | None,
    body: Mapping[str, Any],
    status_code: int,
    location: str,
) -> Submission:
    """`create` behind an Idempotency-Key: a repeated request replays the first answer.

    `status_code` and `location` (a template with `{id}`) are what the operation answers
    for a new run; with a key, the same key and body get that first answer again (no
    second run), another body 422, a request still in flight 409.
    """

    created: dict[str, Any] = {}

    async def first() -> StoredResponse:
        created.update(await runs.create(request, origin=origin))
        headers = {"Location": location.format(id=created["id"])}
        # A generated webhook secret is shown once: replays show null.
        return StoredResponse(status_code, runrecord.without_secret(created), headers)

    outcome = await respond_once(
        runs.idempotency_keys,
        operation=request.operation,
        key=idempotency_key,
        body=body,
        create=first,
    )
    stored = outcome.response
    run = stored.body if outcome.replayed else created
    return Submission(run, stored.status_code, stored.headers, outcome.replayed)
