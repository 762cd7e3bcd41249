"""The RQ jobs a `qers worker` executes: a queued run, and one webhook delivery attempt.

Each job runs in a work horse forked by RQ (one per job); the horse supervises an
isolated simulation child, started by the fork server the worker started once, so a
job starts in milliseconds. The horse keeps the run's heartbeat in Redis, watches for a
stop request, and writes progress and the outcome into the run's folder (announced to
the API's index). RQ names these functions in Redis: `handlers.kit.names` holds the
names, and a test resolves them.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import structlog
from rq import get_current_job

from handlers.errors import NotFoundError, ServiceUnavailable
from handlers.kit.timestamps import rfc3339
from handlers.queue.client import RunQueue
from handlers.runs import record as runrecord
from handlers.runs.record import FINISHED
from handlers.runs.request import localize
from handlers.webhooks import notifier
from handlers.webhooks.delivery import STATUS_GONE, WebhookPolicy, deliver_once
from handlers.webhooks.notifier import Notifier
from handlers.webhooks.plan import message_id_for
from handlers.worker import context as worker_context
from handlers.worker.documents import FolderWriter

PROGRESS_WRITE_INTERVAL_S = 0.5
STOP_POLL_INTERVAL_S = 0.2
_log = structlog.get_logger("qers.worker")


class WebhookAttemptError(Exception):
    """A queued delivery attempt failed; RQ retries the job."""


def execute_run(run_id: str, spec: dict[str, Any], max_duration_s: float) -> str:
    """The RQ job of a queued run; returns the run's final status."""
    context = worker_context.current()
    job = get_current_job()
    if job is None:
        raise RuntimeError("execute_run runs only as an RQ job")
    queue = RunQueue(job.connection, context.settings)
    writer = FolderWriter(context.settings)
    try:
        run = writer.get(run_id)
    except NotFoundError:
        return "discarded"  # withdrawn before it started (e.g. its batch could not be queued)
    if run["status"] != "QUEUED" or queue.claim(run_id, "started") != "started":
        return str(run["status"])  # cancelled in the queue, or already handled
    queue.beat(run_id, context.name)  # before RUNNING is visible: never RUNNING unwatched
    run = runrecord.as_running(run)
    writer.update(run_id, run)
    watch = _Watch(queue, run_id, context)
    watch.start()
    progress = runrecord.ProgressWriter(writer, run, interval_s=PROGRESS_WRITE_INTERVAL_S)
    try:
        result = context.executor.execute(
            {**localize(spec, context.settings.runs_dir), "run_id": run_id},
            max_duration_s=max_duration_s,
            on_progress=progress,
            cancel_event=watch.stop_requested,
        )
    finally:
        watch.finish()
    current = writer.get(run_id)
    if current["status"] in FINISHED:  # failed as lost meanwhile: that verdict stands
        queue.forget(run_id)
        return str(current["status"])
    final = runrecord.finish(writer, progress.run, result)
    queue.forget(run_id)
    Notifier(context.settings, queue).run_ended(writer, final)
    context.executor.replenish()  # with --no-fork, the worker's next spare warms up now
    _log.info("run finished", run_id=run_id, status=final["status"])
    return str(final["status"])


class _Watch(threading.Thread):
    """Keeps the run's heartbeat and turns a stop request into the executor's cancel."""

    def __init__(self, queue: RunQueue, run_id: str, context: worker_context.WorkerContext) -> None:
        super().__init__(name=f"qers-watch-{run_id}", daemon=True)
        self._queue = queue
        self._run_id = run_id
        self._context = context
        self.stop_requested = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        # The job beat just before starting; short runs end before the first poll.
        next_beat = time.monotonic() + self._context.settings.worker_heartbeat_s
        while not self._done.wait(STOP_POLL_INTERVAL_S):
            try:
                if self._queue.stop_requested(self._run_id):
                    self.stop_requested.set()
                now = time.monotonic()
                if now >= next_beat:
                    self._queue.beat(self._run_id, self._context.name)
                    next_beat = now + self._context.settings.worker_heartbeat_s
            except ServiceUnavailable:
                continue  # Redis is down: the run goes on; the heartbeat may lapse

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=5)


def deliver_webhook(run_id: str) -> str:
    """One queued delivery attempt; raising WebhookAttemptError makes RQ retry it later."""
    job = get_current_job()
    settings = worker_context.current().settings
    policy = WebhookPolicy.from_settings(settings)
    documents = FolderWriter(settings)
    url, secret, event = notifier.prepare(documents, run_id, settings)
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
        next_at = rfc3339(attempted + timedelta(seconds=delay), precision="milliseconds")
        delivery["next_attempt_at"] = next_at
    notifier.record(documents, run_id, delivery)
    if delivery["next_attempt_at"] is not None:
        why = delivery["error"] or f"status {delivery['status_code']}"
        raise WebhookAttemptError(f"attempt {attempt} failed: {why}")
    return "delivered" if delivery["succeeded"] else "given up"
