"""Runs: accept a request, execute it (here or on a worker), keep it in the run store.

Embedded mode (no `REDIS_URL`): `create` runs the simulation synchronously in an
isolated child and returns the finished run. Queued mode: `create` stores the run as
QUEUED, enqueues it on Redis and returns at once; `qers worker` processes execute it
(`handlers.worker.jobs`). The API process never imports pybullet: validation and the
scenario/profile catalogues come from modules of `simengine` that do not load it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from generated.models import RunStatus
from handlers.errors import ConflictError, NotFoundError, ServiceUnavailable
from handlers.idempotency.keys import IdempotencyStore
from handlers.isolation.executor import Executor
from handlers.kit import caller
from handlers.queue.client import RunQueue
from handlers.runs import record as runrecord
from handlers.runs.admission import Admission, RedisLedger
from handlers.runs.artifacts import RunArtifacts
from handlers.runs.cursor import RunFilters
from handlers.runs.embedded import EmbeddedRuns
from handlers.runs.ids import is_valid_run_id, new_run_id
from handlers.runs.liveness import LostRuns
from handlers.runs.record import FINISHED
from handlers.runs.recovery import ServerLostRuns
from handlers.runs.request import (
    AssetDirectory,
    NoProjects,
    ProjectDirectory,
    RunRequest,
    prepare,
)
from handlers.runs.store import RunStore
from handlers.settings import Settings
from handlers.webhooks.notifier import Notifier
from handlers.webhooks.plan import WEBHOOK_FILE
from handlers.webhooks.sealing import SecretBox

# How long a cancel request waits for a running run to reach its final state.
CANCEL_WAIT_S = 2.5
_CANCEL_POLL_S = 0.05


class RunService:
    """The run lifecycle shared by `/v1/runs`, `/api/runs`, `/api/sim` and `qers run`."""

    def __init__(
        self,
        *,
        settings: Settings,
        executor: Executor,
        queue: RunQueue | None = None,
        idempotency_keys: IdempotencyStore | None = None,
        projects: ProjectDirectory | None = None,
    ) -> None:
        self._settings = settings
        self.projects: ProjectDirectory = projects or NoProjects()
        # Imported assets runs may simulate (`asset_id`); None: no asset is known.
        self.assets: AssetDirectory | None = None
        self._opened: RunStore | None = None
        self._artifacts: RunArtifacts | None = None
        self._executor = executor
        self._queue = queue
        self._embedded = EmbeddedRuns(executor, lambda: self._store)
        self.idempotency_keys = idempotency_keys
        self._box: SecretBox | None = None
        self._notifier = Notifier(settings, queue)
        self._lost = (
            None
            if queue is None
            else LostRuns(lambda: self._store, queue, settings=settings, ended=self._ended)
        )
        self._recovery = ServerLostRuns(lambda: self._store, ended=self._ended)
        ledger = RedisLedger(queue.redis, settings.queue_name) if queue is not None else None
        self.admission = Admission(settings, ledger=ledger)

    @property
    def queue(self) -> RunQueue | None:
        """The run queue (queued mode), or None (embedded)."""
        return self._queue

    @property
    def queued(self) -> bool:
        """Whether `create` answers before the run executes (202) or after (200/201)."""
        return self._queue is not None

    @property
    def _store(self) -> RunStore:
        # Opened on first use, so a bad RUNS_DIR shows in health instead of stopping start-up.
        if self._opened is None:
            try:
                self._opened = RunStore(self._settings.runs_dir)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise ServiceUnavailable(f"Run storage is unavailable: {reason}.") from exc
        return self._opened

    @property
    def artifacts(self) -> RunArtifacts:
        """Metrics, report, replay and steps of stored runs."""
        if self._artifacts is None:
            self._artifacts = RunArtifacts(self._store)
        return self._artifacts

    def warm_up(self) -> None:
        """Start the simulation fork server and the warm spares now."""
        self._executor.warm_up()

    async def create(
        self, request: RunRequest, *, origin: str, after: str | None = None
    ) -> dict[str, Any]:
        """Validate and record one run, then execute it (embedded) or enqueue it (queued).

        Everything is validated before the store sees the run: a rejected request
        leaves nothing behind; neither does one that Redis could not take. The returned
        document is the creation response: the only one that shows a generated webhook
        secret. Queued mode: with `after` (a run id), the run waits until that run ended.
        """
        if request.replay_of is not None:
            request = self.artifacts.replayed(request)
        prepared = prepare(request, self._settings, assets=self.assets)
        alone = request.batch_id is None  # a batch child: checked when its batch was made
        if alone:
            pointers = request.pointers
            caller.current().require_named(
                request.project_id, pointer=pointers.get("project_id", "")
            )
            if request.project_id is not None:
                self.projects.require_open(request.project_id)
            self.admission.check_steps(prepared.spec["steps"], pointer=pointers.get("steps", ""))
        run_id = new_run_id()
        files = {}
        if prepared.webhook is not None:
            files[WEBHOOK_FILE] = prepared.webhook.sealed_file(self._secret_box)
        if self._queue is not None:
            if alone:
                self.admission.check_quota(self.finished)
            run = runrecord.new_run(run_id, request, prepared, origin=origin, status="QUEUED")
            self._store.create(run, files)
            try:
                self._queue.enqueue(
                    run_id,
                    prepared.portable_spec(),
                    max_duration_s=prepared.max_duration_s,
                    after=after,
                )
            except ServiceUnavailable:
                self._store.discard(run_id)
                raise
            if alone:
                self.admission.record(run_id)
            return runrecord.with_shown_secret(run, prepared.webhook)
        run = runrecord.new_run(run_id, request, prepared, origin=origin, status="RUNNING")
        with self.admission.held() if alone else contextlib.nullcontext():
            finished = self._ended(
                await self._embedded.run(
                    run,
                    self._recovery.owned(files),
                    prepared.spec,
                    max_duration_s=prepared.max_duration_s,
                )
            )
        # The run is stored: a spare may warm up when the loop is next free (answer sent).
        asyncio.get_running_loop().call_soon(self._executor.replenish)
        return runrecord.with_shown_secret(finished, prepared.webhook)

    @property
    def _secret_box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.from_settings(self._settings)
        return self._box

    def _ended(self, run: dict[str, Any]) -> dict[str, Any]:
        """`run` has reached its final state: announce it (webhook)."""
        self._notifier.run_ended(self._store, run)
        return run

    def discard(self, run_id: str) -> None:
        """Remove a run that was never started (its batch was withdrawn); nothing remains."""
        run = self._store.get(run_id)
        if run["status"] not in ("CREATED", "QUEUED"):
            raise ConflictError(f"Run {run_id} is {run['status']}; only a queued run is discarded.")
        self._store.discard(run_id)

    async def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancel a run: a queued one at once, a running one within about 2 s; 409 if finished.

        Returns the run as it stands when the cancellation took effect (or when
        `CANCEL_WAIT_S` ran out: then it is still RUNNING and will end CANCELLED).
        """
        run = self.artifacts.run(run_id)
        if run["status"] in FINISHED:
            raise ConflictError(f"Run {run_id} is already {run['status']}; nothing to cancel.")
        if self._queue is not None:
            if self._queue.claim(run_id, "cancelled") == "cancelled":
                # The job stays queued: a worker skips it at once, and jobs chained after
                # it (batch lanes) are released as when any run ends.
                current = self._store.get(run_id)
                if current["status"] in FINISHED:  # e.g. failed by the reconciler meanwhile
                    return current
                return self._ended(runrecord.end(self._store, current, status=RunStatus.CANCELLED))
            self._queue.request_stop(run_id)
        else:
            if not self._embedded.cancel(run_id):
                raise ConflictError(f"Run {run_id} is not running in this server process.")
        return await self._settled(run_id)

    def reconcile(self) -> list[str]:
        """Fail the runs of dead executors: WORKER_LOST (queued), SERVER_LOST (embedded)."""
        return self._lost.reconcile() if self._lost is not None else self._recovery.reconcile()

    async def _settled(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + CANCEL_WAIT_S
        run = self._store.get(run_id)
        while run["status"] not in FINISHED and time.monotonic() < deadline:
            await asyncio.sleep(_CANCEL_POLL_S)
            run = self._store.get(run_id)
        return run

    def get(self, run_id: str) -> dict[str, Any]:
        """One run document (404 when unknown); a run whose worker (queued) or server
        process (embedded) is gone is failed on the spot rather than shown RUNNING."""
        run = self.artifacts.run(run_id)
        if self._lost is None:
            return self._recovery.checked(run)
        return self._lost.checked(run) if run["status"] == "RUNNING" else run

    def list(self, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
        """A page of runs, newest first (including what workers wrote meanwhile)."""
        self._store.sync_changes()
        items, cursor = self._store.list(**filters, projects=caller.current().listing())
        if self._lost is None:  # embedded: runs of a dead server process end SERVER_LOST
            items = [self._recovery.checked(run) for run in items]
        return items, cursor

    def make_durable(self, run_ids: Sequence[str]) -> None:
        """One group commit of runs written without fsync (a batch's children)."""
        self._store.make_durable(run_ids)

    def finished(self, work_id: str) -> bool:
        """Whether a run, or every child of a batch, has ended (or is gone)."""
        if not is_valid_run_id(work_id):  # a batch: ended once no child waits or runs
            self._store.sync_changes()
            return not any(
                self._store.count(RunFilters(batch_id=work_id, status=s))
                for s in ("CREATED", "QUEUED", "RUNNING")
            )
        try:
            return self._store.get(work_id)["status"] in FINISHED
        except NotFoundError:
            return True

    def count(self, **filters: Any) -> int:
        """How many runs match `filters` (RunFilters' names), whoever wrote them."""
        self._store.sync_changes()
        return self._store.count(RunFilters(**filters))
