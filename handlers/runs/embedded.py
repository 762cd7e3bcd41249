"""Embedded execution: runs executing in this process's isolated children.

`EmbeddedRuns.run` records a run RUNNING (no fsync: quick), executes it in a child and
stores its outcome. A run answers once durable: its creation is made so on a thread
while the child runs (`RunStore.settle`), its final write on a thread after (fsyncs would
stop the event loop: other requests, a batch's children). A batch child is written
without fsync, here on the loop: its batch commits it (`RunStore.make_durable`).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from handlers.isolation.executor import Executor
from handlers.runs import record as runrecord
from handlers.runs.store import RunStore

PROGRESS_INTERVAL_S = 0.5
_log = structlog.get_logger("qers.runs")


class EmbeddedRuns:
    """Runs executing here, and the cancel event of each."""

    def __init__(self, executor: Executor, store: Callable[[], RunStore]) -> None:
        self._executor = executor
        self._store = store  # opened on first use (see RunService._store)
        self._cancels: dict[str, threading.Event] = {}

    def cancel(self, run_id: str) -> bool:
        """Ask the run to stop at its next step; False if it is not executing here."""
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    async def run(
        self,
        run: dict[str, Any],
        files: Mapping[str, bytes],
        spec: Mapping[str, Any],
        *,
        max_duration_s: float,
    ) -> dict[str, Any]:
        """Create `run` (RUNNING) with `files`, execute `spec` and store the outcome; the
        run document as finished."""
        store = self._store()
        run_id, alone = run["id"], run.get("batch_id") is None
        cancel = self._cancels.setdefault(run_id, threading.Event())
        progress = runrecord.ProgressWriter(store, run, interval_s=PROGRESS_INTERVAL_S)
        settled: asyncio.Future[None] | None = None
        try:
            store.create(run, dict(files), durable=False)
            if alone:
                settled = asyncio.ensure_future(
                    asyncio.to_thread(store.settle, run_id, list(files))
                )
            result = await self._executor.execute_async(
                {**spec, "run_id": run_id},
                max_duration_s=max_duration_s,
                on_progress=progress,
                cancel_event=cancel,
            )
            if settled is None:  # a batch child: no fsync, quick, here
                return runrecord.finish(store, progress.run, result, durable=False)
            finished = await asyncio.to_thread(runrecord.finish, store, progress.run, result)
        finally:
            self._cancels.pop(run_id, None)
            if settled is not None:  # never left running; an error of the run goes first
                await asyncio.wait([settled])
                if sys.exc_info()[0] is not None and settled.exception() is not None:
                    _log.error("settle_failed", run_id=run_id, exc_info=settled.exception())
        settled.result()  # the creation's fsyncs failed: the run is not durable
        return finished
