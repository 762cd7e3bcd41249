"""Embedded mode: runs whose API process died are failed `SERVER_LOST`.

An embedded run executes under the API process that created it. Each such run's folder
holds `owner.json` (`kit/owner.ProcessOwner`: host, boot id, pid namespace, pid, start
time), written with the run. When that process is gone (SIGKILL, host restart) nothing
will ever finish the run, so the next API process to start on RUNS_DIR, or to read the
run, fails it. A run whose owner is alive, or runs on another host or pid namespace (it
cannot be checked from here), is left alone: several API processes may share RUNS_DIR.
Queued-mode runs have no owner file: `runs/liveness.LostRuns` watches their workers.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import structlog

from generated.models import FailureCode, RunStatus
from handlers.errors import NotFoundError
from handlers.kit.owner import Liveness, ProcessOwner
from handlers.runs import record as runrecord
from handlers.runs.record import FINISHED
from handlers.runs.store import RunStore

OWNER_FILE = "owner.json"
REASON = (
    "the server process that ran this run stopped before the run finished (it was killed "
    "or its host restarted); whatever output it had written is kept; run it again"
)
_log = structlog.get_logger("qers.runs")


class ServerLostRuns:
    """Records the owner of embedded runs; fails those whose owner died (`ended`
    announces each: webhooks)."""

    def __init__(
        self,
        store: Callable[[], RunStore],
        *,
        ended: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._store = store
        self._ended = ended
        self._owner: ProcessOwner | None = None

    def owned(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """`files` of a new run plus its owner: this process."""
        return {**files, OWNER_FILE: json.dumps(self._me().document()).encode()}

    def _me(self) -> ProcessOwner:
        if self._owner is None or self._owner.pid != os.getpid():  # forked since
            self._owner = ProcessOwner.current()
        return self._owner

    def reconcile(self) -> list[str]:
        """Fail every unfinished run of a dead owner (at start: the index is in sync)."""
        unfinished = [
            run_id
            for run_id, status in self._store().indexed_statuses().items()
            if status not in FINISHED
        ]
        lost = []
        for run_id in unfinished:
            try:
                run = self._store().get(run_id)
            except NotFoundError:
                continue  # removed since
            if self.checked(run) is not run:
                lost.append(run_id)
        if lost:
            _log.warning("failed runs of a lost server process", run_ids=lost)
        return lost

    def checked(self, run: dict[str, Any]) -> dict[str, Any]:
        """`run` as it stands: failed `SERVER_LOST` now if it is unfinished and its owner
        is dead; `run` itself (the same object) when nothing changed."""
        if run["status"] in FINISHED or self._liveness(run["id"]) is not Liveness.DEAD:
            return run
        return self._lose(run["id"]) or run

    def _liveness(self, run_id: str) -> Liveness:
        try:
            raw = self._store().read_file(run_id, OWNER_FILE)
        except NotFoundError:
            return Liveness.UNKNOWN  # queued mode, an older release, or removed meanwhile
        try:
            owner = ProcessOwner.from_document(json.loads(raw))
        except ValueError:
            _log.error("unreadable run owner", run_id=run_id)
            return Liveness.UNKNOWN
        return owner.liveness(here=self._me())

    def _lose(self, run_id: str) -> dict[str, Any] | None:
        """Fail the run under an exclusive lock on its owner file: of several processes
        recovering at once, one writes the failure and the others read it."""
        path = self._store().folders.folder(run_id) / OWNER_FILE
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                current = self._store().get(run_id)  # it may have been failed meanwhile
                if current["status"] in FINISHED:
                    return current
                lost = runrecord.end(
                    self._store(),
                    current,
                    status=RunStatus.FAILED,
                    failure_code=FailureCode.SERVER_LOST,
                    reason=REASON,
                )
        except FileNotFoundError:
            return None  # the run was removed meanwhile
        _log.warning("run lost with its server process", run_id=run_id)
        return self._ended(lost)
