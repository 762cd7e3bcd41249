"""Webhook events of finished runs: the event document, its exact bytes, its signature.

Signing follows Standard Webhooks (`standardwebhooks`): `webhook-id`, `webhook-timestamp`
and `webhook-signature` headers over the exact body bytes sent.
"""

import base64
import copy
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from generated.models import WebhookEvent

EVENT_FOR_STATUS = {
    "SUCCEEDED": "run.completed",
    "FAILED": "run.failed",
    "CANCELLED": "run.cancelled",
}
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A fresh `webhook-id`: `msg_` and 26 random letters and digits."""
    return "msg_" + secrets.token_hex(13)


def event_for(status: str) -> str:
    """The event type a final run status announces.

    Raises:
        ValueError: `status` is not final (SUCCEEDED, FAILED, CANCELLED).
    """
    try:
        return EVENT_FOR_STATUS[status]
    except KeyError:
        raise ValueError(f"run status {status!r} is not final; no webhook event") from None


def build_event(run: Mapping[str, Any]) -> dict[str, Any]:
    """The `WebhookEvent` document for a finished run, checked against the contract.

    The run is copied with `webhook.secret` set to null; `timestamp` is its `finished_at`.

    Raises:
        ValueError: The run is not final, or the event does not match the contract
            (pydantic.ValidationError is a ValueError).
    """
    payload = copy.deepcopy(dict(run))
    if isinstance(payload.get("webhook"), dict):
        payload["webhook"]["secret"] = None
    event = {
        "event": event_for(str(payload.get("status"))),
        "run_id": payload.get("id"),
        "timestamp": payload.get("finished_at"),
        "payload": payload,
    }
    WebhookEvent.model_validate(event)
    return event


def encode_event(event_doc: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON, UTF-8. These exact bytes are signed and sent."""
    text = json.dumps(event_doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode()


def sign(*, secret: str, message_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for `body` sent at `timestamp`."""
    timestamp = timestamp.astimezone(UTC)  # `Webhook.sign` takes naive times as UTC
    signature = Webhook(secret).sign(message_id, timestamp, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
