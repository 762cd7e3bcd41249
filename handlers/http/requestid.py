"""Request ids: accept a well-formed incoming one, else make one; keep it in the scope."""

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

DEFAULT_HEADER = "X-Request-ID"
# Within contracts/schemas/RequestId.schema.json; shorter ids are replaced (collisions).
_WELL_FORMED = re.compile(r"[A-Za-z0-9_.:-]{8,128}")
_STATE_KEY = "request_id"


def new_request_id() -> str:
    """A fresh random id (uuid4, 32 hex digits)."""
    return uuid.uuid4().hex


def accept_or_generate(incoming: str | None) -> str:
    """`incoming` if it is well formed, else a fresh id."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return new_request_id()


def store(scope: MutableMapping[str, Any], request_id: str) -> None:
    """Keep the id in the ASGI scope's state (`request.state.request_id`)."""
    scope.setdefault("state", {})[_STATE_KEY] = request_id


def request_id_of(scope: MutableMapping[str, Any]) -> str | None:
    """The id the middleware stored for this request, if any."""
    state = scope.get("state")
    if isinstance(state, dict):
        value = state.get(_STATE_KEY)
        return value if isinstance(value, str) else None
    return None
