"""A run's webhook as requested: the URL checked at creation and its signing secret settled.

The URL passes the SSRF guard (422 otherwise) and the secret is taken or generated; the
Run shows the URL and, in the creation response only, a generated secret. The secret is
kept sealed in the run folder (`webhook.json`), never in clear.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.errors import ValidationFailed
from handlers.settings import Settings
from handlers.webhooks.events import new_secret
from handlers.webhooks.sealing import SecretBox
from handlers.webhooks.urlguard import UrlRejected, check_url

WEBHOOK_FILE = "webhook.json"


@dataclass(frozen=True)
class WebhookPlan:
    """A run's webhook as requested: URL, secret, and whether we generated the secret."""

    url: str
    secret: str = ""
    generated: bool = False

    def __repr__(self) -> str:  # never show the secret
        return f"WebhookPlan(url={self.url!r}, generated={self.generated})"

    def document(self, *, creation: bool) -> dict[str, Any]:
        """The RunWebhook of the run; the generated secret only in the creation response."""
        secret = self.secret if creation and self.generated else None
        return {"url": self.url, "secret": secret, "message_id": None, "deliveries": []}

    def sealed_file(self, box: SecretBox) -> bytes:
        """`webhook.json`: the URL and the sealed secret."""
        return json.dumps({"url": self.url, "sealed_secret": box.seal(self.secret)}).encode()


def plan(
    *,
    url: str | None,
    secret: str | None,
    settings: Settings,
    pointers: Mapping[str, str],
) -> WebhookPlan | None:
    """Check a requested webhook (422 problems name the field) and settle its secret."""
    if url is None:
        if secret is not None:
            raise ValidationFailed.at(
                pointers["webhook_secret"], "webhook_secret needs webhook_url"
            )
        return None
    try:
        check_url(url, allow_hosts=settings.webhook_allow_hosts)
    except UrlRejected as exc:
        raise ValidationFailed.at(pointers["webhook_url"], exc.reason) from exc
    if secret is not None:
        return WebhookPlan(url=url, secret=secret, generated=False)
    return WebhookPlan(url=url, secret=new_secret(), generated=True)


def message_id_for(run_id: str) -> str:
    """The run's `webhook-id`: derived from the run id, so every retry and host agrees."""
    return "msg_" + run_id.removeprefix("run_").replace("_", "")
