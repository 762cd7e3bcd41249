"""Run-end webhooks in the run lifecycle: checked at creation, delivered when a run ends.

At creation the URL passes the SSRF guard (422 otherwise) and the signing secret is
taken or generated; the Run shows the URL and, in the creation response only, a
generated secret. The secret is kept sealed in the run folder (`webhook.json`), never in
clear. When the run reaches a final state its event is delivered: on a background thread
in the embedded mode, as an RQ job with RQ's own retries (jittered intervals) in the
queued mode. Every attempt is appended to `webhook.deliveries` of the run; a delivery
never changes the run's own outcome.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from rq import Retry, get_current_job

from handlers.errors import FieldError, ValidationFailed
from handlers.queue.client import RunQueue
from handlers.settings import Settings
from handlers.webhooks.delivery import (
    STATUS_GONE,
    WebhookPolicy,
    build_event,
    deliver_once,
    deliver_with_retries,
    new_secret,
    next_delay,
    rfc3339,
)
from handlers.webhooks.sealing import SecretBox
from handlers.webhooks.urlguard import UrlRejected, check_url

WEBHOOK_FILE = "webhook.json"
DELIVER_FUNCTION = "handlers.webhooks.notifier.deliver_job"
MAX_RECORDED = 20  # RunWebhook.deliveries maxItems
_log = structlog.get_logger("qers.webhooks")


class WebhookAttemptError(Exception):
    """A queued delivery attempt failed; RQ retries the job."""


class RunDocuments(Protocol):
    """Where run documents are read and written (RunStore or a worker's FolderWriter)."""

    def get(self, run_id: str) -> Any: ...

    def update(self, run_id: str, run: Mapping[str, Any]) -> None: ...

    def read_file(self, run_id: str, name: str) -> bytes: ...


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
            reason = "webhook_secret needs webhook_url"
            raise _invalid(pointers["webhook_secret"], reason)
        return None
    try:
        check_url(url, allow_hosts=settings.webhook_allow_hosts)
    except UrlRejected as exc:
        raise _invalid(pointers["webhook_url"], exc.reason) from exc
    if secret is not None:
        return WebhookPlan(url=url, secret=secret, generated=False)
    return WebhookPlan(url=url, secret=new_secret(), generated=True)


def message_id_for(run_id: str) -> str:
    """The run's `webhook-id`: derived from the run id, so every retry and host agrees."""
    return "msg_" + run_id.removeprefix("run_").replace("_", "")


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
                func=DELIVER_FUNCTION,
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
            url, secret, event = _prepare(documents, run_id, self._settings)
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


def deliver_job(run_id: str) -> str:
    """One queued delivery attempt; raising WebhookAttemptError makes RQ retry it later."""
    from handlers.worker.jobs import FolderWriter, worker_settings  # it imports this module

    job = get_current_job()
    settings = worker_settings()
    policy = WebhookPolicy.from_settings(settings)
    documents = FolderWriter(settings)
    url, secret, event = _prepare(documents, run_id, settings)
    retries = len(policy.retry_delays_s)
    retries_left = (job.retries_left if job is not None else 0) or 0
    attempt = retries - retries_left + 1
    delivery = deliver_once(
        url=url,
        secret=secret,
        message_id=message_id_for(run_id),
        event_doc=event,
        attempt=attempt,
        policy=policy,
    )
    final = delivery["succeeded"] or delivery["status_code"] == STATUS_GONE
    if not final and retries_left and job is not None:
        delay = job.get_retry_interval()
        attempted = datetime.fromisoformat(delivery["attempted_at"])
        delivery["next_attempt_at"] = rfc3339(attempted + timedelta(seconds=delay))
    record(documents, run_id, delivery)
    if delivery["next_attempt_at"] is not None:
        why = delivery["error"] or f"status {delivery['status_code']}"
        raise WebhookAttemptError(f"attempt {attempt} failed: {why}")
    return "delivered" if delivery["succeeded"] else "given up"


def record(documents: RunDocuments, run_id: str, delivery: Mapping[str, Any]) -> None:
    """Append one WebhookDelivery to the run's webhook log (the newest MAX_RECORDED kept)."""
    run = dict(documents.get(run_id))
    hook = dict(run["webhook"])
    hook["deliveries"] = [*hook["deliveries"], dict(delivery)][-MAX_RECORDED:]
    documents.update(run_id, {**run, "webhook": hook})


def _prepare(
    documents: RunDocuments, run_id: str, settings: Settings
) -> tuple[str, str, dict[str, Any]]:
    """URL, opened secret and the event (payload: the run as it ended, no delivery log)."""
    stored = json.loads(documents.read_file(run_id, WEBHOOK_FILE))
    secret = SecretBox.from_settings(settings).open(stored["sealed_secret"])
    run = dict(documents.get(run_id))
    run["webhook"] = {**run["webhook"], "deliveries": []}
    return stored["url"], secret, build_event(run)


def _invalid(pointer: str, reason: str) -> ValidationFailed:
    error: FieldError = {"location": "body", "pointer": pointer, "reason": reason}
    return ValidationFailed.for_fields([error])
