"""`qers worker`: an RQ worker executing queued runs (see `handlers.worker.jobs`).

A forking worker runs each job in a work horse that adopts the worker's fork server and
dies with the worker (PR_SET_PDEATHSIG); whoever notices a run without a heartbeat
first (the API, another worker) fails it `WORKER_LOST`.
"""

from __future__ import annotations

import gc
import multiprocessing.forkserver
import os
from typing import Any

from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from generated.models import FailureCode, RunStatus
from handlers.errors import NotFoundError
from handlers.isolation.executor import Executor, pooled
from handlers.kit.process import die_with_parent
from handlers.queue.client import RunQueue, connect
from handlers.runs import record as runrecord
from handlers.runs.record import FINISHED
from handlers.settings import Settings
from handlers.webhooks.notifier import Notifier
from handlers.worker import context as worker_context
from handlers.worker.documents import FolderWriter


class QersWorker(Worker):
    """RQ's forking worker; each work horse dies with it and reuses its fork server."""

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        die_with_parent()
        _adopt_fork_server()
        super().main_work_horse(job, queue)


class InProcessWorker(SimpleWorker):
    """Executes each job in the worker process itself (no work horse).

    Safe here because the job only supervises: the simulation runs in its own isolated
    child either way. Saves the fork of the worker per job (see `make bench`).
    """


def _adopt_fork_server() -> None:
    """Let this forked process use the fork server its parent started.

    The standard library checks the server with `waitpid`, which only its parent may
    call; a horse checks that the server process exists instead.
    """
    server = multiprocessing.forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    start = type(server).ensure_running

    def ensure_running() -> None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            server._forkserver_pid = None  # type: ignore[attr-defined]
            server._forkserver_address = None  # type: ignore[attr-defined]
            start(server)

    server.ensure_running = ensure_running  # type: ignore[method-assign]


def _horse_killed(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """RQ saw a horse die without finishing its job: fail the run WORKER_LOST now."""
    context = worker_context.installed()
    if context is None:
        return
    writer = FolderWriter(context.settings)
    try:
        run = writer.get(job.id)
    except NotFoundError:  # not one of our runs, or its folder is gone
        return
    if run["status"] in FINISHED:
        return
    how = f"signal {-ret_val}" if ret_val < 0 else f"status {ret_val}"
    lost = runrecord.end(
        writer,
        run,
        status=RunStatus.FAILED,
        failure_code=FailureCode.WORKER_LOST,
        reason=f"the process executing this run died unexpectedly ({how}); run it again",
    )
    queue = RunQueue(job.connection, context.settings)
    queue.forget(job.id)
    Notifier(context.settings, queue).run_ended(writer, lost)


def run_worker(
    settings: Settings, *, burst: bool = False, name: str | None = None, fork: bool = False
) -> bool:
    """Execute queued runs until stopped (or, with `burst`, until the queue is empty)."""
    if not settings.redis_url:
        raise ValueError("qers worker needs REDIS_URL")
    client = connect(settings.redis_url)
    # Forking workers run each job in a new horse: spares made here would be the horses'
    # parent's, unusable. Without forking (the default), one warm child serves job after
    # job (a worker runs one job at a time).
    executor = Executor(
        pooled(
            spares=0 if fork else min(1, settings.warm_spares),
            max_episodes=settings.sim_child_max_episodes,
            max_growth_mb=settings.sim_child_max_growth_mb,
        )
    )
    executor.warm_up()  # the fork server every horse will use
    context = worker_context.WorkerContext(settings, executor, name or worker_context.worker_name())
    worker_context.install(context)
    queue = Queue(settings.queue_name, connection=client, serializer=JSONSerializer)
    worker_class = QersWorker if fork else InProcessWorker
    worker = worker_class(
        [queue],
        connection=client,
        serializer=JSONSerializer,
        name=context.name,
        work_horse_killed_handler=_horse_killed,
    )
    # Objects that exist now are never collected: a horse's garbage collections then
    # leave the pages it shares with the worker alone (fewer copy-on-write faults per job).
    gc.freeze()
    # The scheduler re-enqueues webhook deliveries when their retry interval is up.
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level))
