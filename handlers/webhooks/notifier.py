"""Run-end webhooks in the run lifecycle: delivered when a run reaches its final state.

Embedded mode: a background thread makes every attempt. Queued mode: each attempt is an
RQ job (`handlers.worker.jobs.deliver_webhook`) with RQ's own retries at jittered
intervals. Every attempt is appended to `webhook.deliveries` of the run; a delivery
never changes the run's own outcome.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import structlog
from rq import Retry

from handlers.kit.names import WEBHOOK_JOB
from handlers.queue.client import RunQueue
from handlers.settings import Settings
from handlers.webhooks.delivery import WebhookPolicy, deliver_with_retries, next_delay
from handlers.webhooks.events import build_event
from handlers.webhooks.plan import WEBHOOK_FILE, message_id_for
from handlers.webhooks.sealing import SecretBox

MAX_RECORDED = 20  # RunWebhook.deliveries maxItems
_log = structlog.get_logger("qers.webhooks")


class RunDocuments(Protocol):
    """Where run documents are read and written (RunStore or a worker's FolderWriter)."""

    def get(self, run_id: str) -> Any: ...

    def update(self, run_id: str, run: Mapping[str, Any]) -> None: ...

    def read_file(self, run_id: str, name: str) -> bytes: ...


class Notifier:
    """Delivers the webhook of each run that ends (embedded thread or queued RQ job)."""

    def __init__(self, settings: Settings, queue: RunQueue | None) -> None:
        self._settings = settings
        self._queue = queue
        self._policy = WebhookPolicy.from_settings(settings)

    def run_ended(self, documents: RunDocuments, run: Mapping[str, Any]) -> None:
        """Start delivering the event of `run` (final) if it has a webhook; never raises."""
        if run.get("webhook") is None:
            return
        try:
            if self._queue is not None:
                self._enqueue(run["id"])
            else:
                threading.Thread(
                    target=self._deliver_all,
                    args=(documents, run["id"]),
                    name=f"qers-webhook-{run['id']}",
                    daemon=True,
                ).start()
        except Exception:  # a delivery problem must not fail the run
            _log.exception("webhook delivery not started", run_id=run["id"])

    def _enqueue(self, run_id: str) -> None:
        assert self._queue is not None
        rng = random.Random(secrets.randbits(64))  # noqa: S311 (jitter, not cryptography)
        delays = [next_delay(n, self._policy, rng) for n in range(1, self._retries + 1)]
        retry = Retry(max=self._retries, interval=[d or 0.0 for d in delays])  # type: ignore[misc]
        with self._queue.available():
            self._queue.queue.enqueue_call(
                func=WEBHOOK_JOB,
                args=(run_id,),
                job_id=f"webhook-{run_id}",
                timeout=int(self._policy.timeout_s) + 30,
                retry=retry if self._retries else None,
                result_ttl=86400,
                failure_ttl=7 * 86400,
                description=f"QERS webhook of {run_id}",
            )

    @property
    def _retries(self) -> int:
        return len(self._policy.retry_delays_s)

    def _deliver_all(self, documents: RunDocuments, run_id: str) -> None:
        try:
            url, secret, event = prepare(documents, run_id, self._settings)
            deliver_with_retries(
                url=url,
                secret=secret,
                message_id=message_id_for(run_id),
                event_doc=event,
                policy=self._policy,
                record=lambda delivery: record(documents, run_id, delivery),
            )
        except Exception:
            _log.exception("webhook delivery failed", run_id=run_id)


def record(documents: RunDocuments, run_id: str, delivery: Mapping[str, Any]) -> None:
    """Append one WebhookDelivery to the run's webhook log (the newest MAX_RECORDED kept)."""
    run = dict(documents.get(run_id))
    hook = dict(run["webhook"])
    hook["deliveries"] = [*hook["deliveries"], dict(delivery)][-MAX_RECORDED:]
    documents.update(run_id, {**run, "webhook": hook})


def prepare(
    documents: RunDocuments, run_id: str, settings: Settings
) -> tuple[str, str, dict[str, Any]]:
    """URL, opened secret and the event (payload: the run as it ended, no delivery log)."""
    stored = json.loads(documents.read_file(run_id, WEBHOOK_FILE))
    secret = SecretBox.from_settings(settings).open(stored["sealed_secret"])
    run = dict(documents.get(run_id))
    run["webhook"] = {**run["webhook"], "deliveries": []}
    return stored["url"], secret, build_event(run)
