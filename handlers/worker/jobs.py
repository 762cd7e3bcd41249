"""`qers worker`: an RQ worker executing queued runs, and the job it executes.

Each job runs in a work horse forked by RQ (one per job); the horse supervises an
isolated simulation child, started by the fork server the worker started once, so a
job starts in milliseconds. The horse keeps the run's heartbeat in Redis, watches for a
stop request, and writes progress and the outcome into the run's folder (announced to
the API's index). A horse dies with its worker (PR_SET_PDEATHSIG); whoever notices a
run without a heartbeat first (the API, another worker) fails it `WORKER_LOST`.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing.forkserver
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from rq import Queue, SimpleWorker, Worker, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

from generated.models import FailureCode, RunStatus
from handlers.errors import NotFoundError, ServiceUnavailable
from handlers.isolation.executor import Executor, ExecutorConfig
from handlers.queue.client import RunQueue, connect
from handlers.runs import record as runrecord
from handlers.runs.folders import RunFolders, encode_run
from handlers.runs.record import FINISHED
from handlers.runs.request import localize
from handlers.settings import Settings
from handlers.webhooks.notifier import Notifier

PROGRESS_WRITE_INTERVAL_S = 0.5
STOP_POLL_INTERVAL_S = 0.2
_PR_SET_PDEATHSIG = 1
_log = structlog.get_logger("qers.worker")


class FolderWriter:
    """Run documents written straight to the run folders, announced to the API's index."""

    def __init__(self, settings: Settings) -> None:
        self.folders = RunFolders(settings.runs_dir, announce=True)

    def get(self, run_id: str) -> dict[str, Any]:
        run, _ = self.folders.read_run(run_id)
        return dict(run)

    def update(self, run_id: str, run: Mapping[str, Any]) -> None:
        self.folders.write_run(run_id, encode_run(run))

    def put_file(self, run_id: str, name: str, data: bytes) -> None:
        self.folders.put_file(run_id, name, data)

    def put_files(self, run_id: str, files: Mapping[str, bytes]) -> None:
        self.folders.put_files(run_id, files)

    def read_file(self, run_id: str, name: str) -> bytes:
        return self.folders.read_file(run_id, name)


@dataclass
class WorkerContext:
    """What every job of this worker shares (set before the first fork)."""

    settings: Settings
    executor: Executor
    name: str


_context: WorkerContext | None = None


def execute_run(run_id: str, spec: dict[str, Any], max_duration_s: float) -> str:
    """The RQ job of a queued run; returns the run's final status."""
    context = _context or _standalone_context()
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
            {**localize(spec), "run_id": run_id},
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

    def __init__(self, queue: RunQueue, run_id: str, context: WorkerContext) -> None:
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


def worker_settings() -> Settings:
    """The settings of this worker (jobs executed outside `qers worker` read the env)."""
    return (_context or _standalone_context()).settings


def _standalone_context() -> WorkerContext:
    """For a job executed outside `qers worker` (e.g. rq's own worker command)."""
    global _context
    _context = WorkerContext(Settings.from_env(), Executor(), _worker_name())
    return _context


def _worker_name() -> str:
    return f"qers-{socket.gethostname()}-{os.getpid()}"


class QersWorker(Worker):
    """RQ's forking worker; each work horse dies with it and reuses its fork server."""

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        _die_with_parent()
        _adopt_fork_server()
        super().main_work_horse(job, queue)


class InProcessWorker(SimpleWorker):
    """Executes each job in the worker process itself (no work horse).

    Safe here because the job only supervises: the simulation runs in its own isolated
    child either way. Saves the fork of the worker per job (see `make bench`).
    """


def _die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent (the worker) dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: a lost worker's horse runs on
        return


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
    if _context is None:
        return
    writer = FolderWriter(_context.settings)
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
    queue = RunQueue(job.connection, _context.settings)
    queue.forget(job.id)
    Notifier(_context.settings, queue).run_ended(writer, lost)


def run_worker(
    settings: Settings, *, burst: bool = False, name: str | None = None, fork: bool = True
) -> bool:
    """Execute queued runs until stopped (or, with `burst`, until the queue is empty)."""
    global _context
    if not settings.redis_url:
        raise ValueError("qers worker needs REDIS_URL")
    client = connect(settings.redis_url)
    # Forking workers run each job in a new horse: spares made here would be the horses'
    # parent's, unusable. Without forking, the worker keeps one warm spare like the API.
    executor = Executor(ExecutorConfig(spares=0 if fork else settings.warm_spares))
    executor.warm_up()  # the fork server every horse will use
    _context = WorkerContext(settings, executor, name or _worker_name())
    queue = Queue(settings.queue_name, connection=client, serializer=JSONSerializer)
    worker_class = QersWorker if fork else InProcessWorker
    worker = worker_class(
        [queue],
        connection=client,
        serializer=JSONSerializer,
        name=_context.name,
        work_horse_killed_handler=_horse_killed,
    )
    # Objects that exist now are never collected: a horse's garbage collections then
    # leave the pages it shares with the worker alone (fewer copy-on-write faults per job).
    gc.freeze()
    # The scheduler re-enqueues webhook deliveries when their retry interval is up.
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level))
