"""Queued mode: runs whose worker stopped beating are failed `WORKER_LOST`.

A worker beats a heartbeat key in Redis while it executes a run. The API notices a run
without one in its reconcile loop (one API process per interval) and whenever such a
run is read, so a lost worker's runs never stay RUNNING.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from generated.models import FailureCode, RunStatus
from handlers.errors import ServiceUnavailable
from handlers.queue.client import RunQueue
from handlers.runs import record as runrecord
from handlers.runs.record import FINISHED
from handlers.runs.store import RunStore
from handlers.settings import Settings

_log = structlog.get_logger("qers.runs")


class LostRuns:
    """Finds and fails the runs of lost workers; `ended` announces each (webhooks)."""

    def __init__(
        self,
        store: Callable[[], RunStore],
        queue: RunQueue,
        *,
        settings: Settings,
        ended: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._store = store
        self._queue = queue
        self._settings = settings
        self._ended = ended

    def reconcile(self) -> list[str]:
        """Fail every run whose heartbeat lapsed, if this process has the turn."""
        if not self._queue.reconcile_turn():
            return []
        lost = []
        for run_id in self._queue.lost():
            run = self._store().get(run_id)
            if run["status"] not in FINISHED:
                self.lose(run)
                lost.append(run_id)
            else:
                self._queue.forget(run_id)
        return lost

    def checked(self, run: dict[str, Any]) -> dict[str, Any]:
        """A RUNNING `run` as it stands: failed now if its worker is gone."""
        try:
            if self._queue.alive(run["id"]):
                return run
        except ServiceUnavailable:
            return run  # Redis is down: show what the store says
        current = self._store().get(run["id"])  # it may have finished just now
        return self.lose(current) if current["status"] == "RUNNING" else current

    def lose(self, run: dict[str, Any]) -> dict[str, Any]:
        """Fail `run` WORKER_LOST and forget its queue state."""
        after = self._settings.worker_lost_after_s
        reason = (
            f"the worker executing this run stopped sending heartbeats (none for {after:g} s): "
            "it was killed or its host was lost; run it again"
        )
        lost = runrecord.end(
            self._store(),
            run,
            status=RunStatus.FAILED,
            failure_code=FailureCode.WORKER_LOST,
            reason=reason,
        )
        self._queue.forget(run["id"])
        _log.warning("run lost with its worker", run_id=run["id"])
        return self._ended(lost)
