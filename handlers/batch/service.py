"""Batches: every profile x DR episode as a child run, their report and their evaluation.

A batch is a small record (`RUNS_DIR/.batches/<id>.json`: effective spec, creation time)
plus its child runs, which are ordinary runs carrying `batch_id` and `episode`. Embedded
mode runs the children in parallel (at most `max_concurrency` at once, each in its own
isolated child process); queued mode enqueues one job per child. The report and the
evaluation are always derived from the children as stored, so they are right in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog

from generated.models import BatchRequest
from handlers.batch import report as batchreport
from handlers.batch.plan import BatchPlan, default_concurrency, plan, with_batch_id
from handlers.errors import ConflictError, QersError, ServiceUnavailable
from handlers.idempotency.keys import IdempotencyStore, Outcome, StoredResponse, respond_once
from handlers.kit import caller
from handlers.kit.documents import DocumentFolder
from handlers.kit.timestamps import rfc3339
from handlers.runs.request import NoProjects, ProjectDirectory
from handlers.runs.service import RunService
from handlers.settings import Settings
from simengine import api as engine_api
from simengine.evaluation import evaluate

BATCH_FOLDER = ".batches"
_PAGE = 1000
_log = structlog.get_logger("qers.batch")


class BatchService:
    """Create, read and evaluate batches on top of a RunService."""

    def __init__(
        self,
        runs: RunService,
        settings: Settings,
        *,
        idempotency_keys: IdempotencyStore | None = None,
        projects: ProjectDirectory | None = None,
    ) -> None:
        self._runs = runs
        self._projects = projects or NoProjects()
        self._settings = settings
        self.store = DocumentFolder(
            settings.runs_dir, folder=BATCH_FOLDER, kind="batch", prefix="bat_"
        )
        self._keys = idempotency_keys

    async def submit(self, body: BatchRequest, *, idempotency_key: str | None) -> Outcome:
        """`create` behind an optional Idempotency-Key (same semantics as runs): the
        report, status code and headers to answer, and whether they were replayed."""
        status_code = 202 if self._runs.queued else 201

        async def first() -> StoredResponse:
            report = await self.create(body)
            return StoredResponse(status_code, report, {"Location": _location(report["id"])})

        return await respond_once(
            self._keys,
            operation="createBatch",
            key=idempotency_key,
            body=body.model_dump(mode="json"),
            create=first,
        )

    async def create(self, body: BatchRequest) -> dict[str, Any]:
        """Validate, record and run (embedded) or enqueue (queued) a batch; its report."""
        concurrency = default_concurrency() if not self._runs.queued else self._workers()
        batch = plan(body, self._settings, concurrency=concurrency, assets=self._runs.assets)
        caller.current().require_named(batch.project_id)
        if batch.project_id is not None:
            self._projects.require_open(batch.project_id)
        admission = self._runs.admission
        children = len(batch.children)
        what = f"{children} children x {batch.spec['steps']} steps"
        admission.check_steps(children * batch.spec["steps"], pointer="/steps", what=what)
        batch_id = self.store.new_id()
        record = {
            "id": batch_id,
            "spec": batch.spec,
            "project_id": batch.project_id,
            "created_at": rfc3339(),
        }
        if self._runs.queued:
            queue = self._runs.queue
            assert queue is not None
            queue.ping()  # fail with 503 before anything is stored
            admission.check_quota(self._runs.finished)
            self.store.put(batch_id, record)
            await self._enqueue(batch_id, batch)
            admission.record(batch_id)
        else:
            with admission.held():
                self.store.put(batch_id, record)
                await self._execute(batch_id, batch)
        return self.get(batch_id)

    def get(self, batch_id: str) -> dict[str, Any]:
        """The BatchReport (404 when unknown)."""
        record = self._record(batch_id)
        return batchreport.report(record, self.children(record))

    def _record(self, batch_id: str) -> dict[str, Any]:
        """The stored batch, if the caller may see it (else the 404 of an unknown id)."""
        record: dict[str, Any] = self.store.get(batch_id)
        caller.current().require_visible(record.get("project_id"), "batch", batch_id)
        return record

    def count_in_project(self, project_id: str) -> int:
        """How many batches `project_id` holds (every batch record is read)."""
        return sum(1 for record in self.store.all() if record.get("project_id") == project_id)

    def children(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The child runs of a batch as stored, by profile then episode."""
        runs: list[dict[str, Any]] = []
        cursor = None
        while True:
            page, cursor = self._runs.list(batch_id=record["id"], limit=_PAGE, cursor=cursor)
            runs += page
            if cursor is None:
                return batchreport.ordered(record, runs)

    def evaluate(self, batch_id: str) -> dict[str, Any]:
        """The BatchEvaluation (409 while the baseline has no successful child)."""
        record = self._record(batch_id)
        children = self.children(record)
        spec = record["spec"]
        baseline = spec["baseline_profile"]
        episodes = {
            name: batchreport.successful_values(children, name) for name in spec["profiles"]
        }
        if not episodes[baseline]:
            raise ConflictError(
                f"Batch {batch_id} has no successful child of the baseline profile "
                f"{baseline!r} yet, so nothing can be compared."
            )
        scenario = _scenario(spec["scenario"])
        directions = {m["key"]: m["direction"] for m in scenario["metrics"]}
        evaluated = evaluate(
            profiles=spec["profiles"],
            baseline=baseline,
            episodes=episodes,
            directions=directions,
            ranking_metric=scenario["primary_metric"],
        )
        tally = batchreport.counts(record, children)
        return {
            "batch_id": batch_id,
            "status": batchreport.status(tally),
            "complete": not any(tally[s] for s in batchreport.UNFINISHED),
            "computed_at": rfc3339(),
            "baseline_profile": baseline,
            "ranking_metric": scenario["primary_metric"],
            "metrics": scenario["metrics"],
            **evaluated,
        }

    async def _execute(self, batch_id: str, batch: BatchPlan) -> None:
        """Run every child here, at most `max_concurrency` at once. The children's final
        states are written without fsync and committed in one group at the end, before
        the batch answers (a crash before leaves each child complete or RUNNING, which the
        recovery fails SERVER_LOST)."""
        gate = asyncio.Semaphore(batch.spec["max_concurrency"])
        made: list[str] = []

        async def child(index: int) -> None:
            async with gate:
                request = with_batch_id(batch.children[index], batch_id)
                made.append((await self._runs.create(request, origin="batch"))["id"])

        try:
            outcomes = await asyncio.gather(
                *(child(i) for i in range(len(batch.children))), return_exceptions=True
            )
        finally:
            await asyncio.to_thread(self._runs.make_durable, made)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        for error in errors:
            _log.error("batch child could not run", batch_id=batch_id, error=repr(error))
        if errors:
            raise errors[0]

    async def _enqueue(self, batch_id: str, batch: BatchPlan) -> None:
        """One queued job per child, in `max_concurrency` lanes: each child waits for the
        one `max_concurrency` places before it, so at most that many run at once. If Redis
        fails midway the batch is withdrawn: its queued children are discarded."""
        lanes = batch.spec["max_concurrency"]
        created: list[str] = []
        try:
            for index, request in enumerate(batch.children):
                after = created[index - lanes] if index >= lanes else None
                child = with_batch_id(request, batch_id)
                run = await self._runs.create(child, origin="batch", after=after)
                created.append(run["id"])
        except ServiceUnavailable:
            for run_id in created:
                with contextlib.suppress(QersError):
                    self._runs.discard(run_id)
            self.store.delete(batch_id)
            raise

    def _workers(self) -> int:
        """Workers registered on the queue (at least 1): queued mode's concurrency."""
        queue = self._runs.queue
        assert queue is not None
        from rq import Worker

        try:
            count = Worker.count(connection=queue.redis)
        except Exception:  # counted again when it matters; Redis is pinged before storing
            count = 1
        return max(1, min(64, int(count)))


def _location(batch_id: str) -> str:
    return f"/api/sim/batch/{batch_id}"


def _scenario(name: str) -> dict[str, Any]:
    for scenario in engine_api.list_scenarios():
        if scenario["name"] == name:
            return scenario
    raise LookupError(name)  # validated when the batch was created
