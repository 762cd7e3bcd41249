"""The simulation child: limits itself, runs the engine target, reports over a pipe.

Runs only in processes forked by the fork server, so it imports the standard library
only; the engine (pybullet, numpy) is already loaded there. Every frame it sends is
JSON or raw bytes, never a pickle: the parent does not trust what a child says.
"""

import importlib
import json
import math
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from handlers.kit.process import die_with_parent

PRELOAD_ENV = "QERS_SIM_PRELOAD"  # read by handlers.isolation.preload in the fork server
KIND_PROGRESS = "progress"
KIND_RESULT = "result"
KIND_ERROR = "error"
REPLAY_KEY = "replay_npz"
READY = b"ready"  # a spare's first frame: warmed up, waiting for its job
# Sent by the parent to ask for a cooperative stop: the target's `should_stop()` turns
# True, the engine ends at the next step and reports what it has (a partial result).
STOP_SIGNAL = signal.SIGUSR1
Target = Callable[..., Any]
# A target as the parent names it: the function itself, or "module:function" for a module
# the parent must not import (one that loads pybullet, or one that fails to import).
TargetRef = Target | str


@dataclass(frozen=True, slots=True)
class ChildJob:
    """What the parent hands one child: the target, the spec and the limits."""

    target: str
    spec: dict[str, Any]
    cpu_limit_s: int
    memory_limit_bytes: int
    progress_interval_s: float


def child_main(job: ChildJob, conn: Connection) -> None:
    """Entry point in the child; always ends with one result or error frame if it can.

    The target is called as `target(spec, progress=..., should_stop=...)`. An error that
    carries a `partial_output` dict (what the run produced before it failed) is reported
    as an error frame marked `has_output`, followed by that output like a result.
    """
    die_with_parent()
    stop = _StopRequest()
    _silence_stdout()
    _set_limits(job)
    try:
        _run_job(job, conn, stop)
    finally:
        conn.close()


def _run_job(job: ChildJob, conn: Connection, stop: "_StopRequest") -> bool:
    """Run one job and report it; True if it reported a result (no failure)."""
    progress = _Progress(conn, job.progress_interval_s)
    try:
        target = resolve_target(job.target)
        output = target(job.spec, progress=progress, should_stop=stop)
        progress.flush()
        _send_result(conn, output)
    except MemoryError:
        _report(conn, {"kind": KIND_ERROR, "failure_code": "RESOURCE_LIMIT"})
    except BaseException as exc:  # the parent classifies; nothing may escape unreported
        _report_error(conn, exc, progress)
    else:
        return True
    return False


def target_name(target: TargetRef) -> str:
    """The "module:function" name a child resolves `target` by (jobs cross a pipe)."""
    if isinstance(target, str):
        return target
    return f"{target.__module__}:{target.__qualname__}"


def resolve_target(target: str) -> Target:
    """The callable named by a "module:function" string."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError("target must look like 'module:function'")
    found = getattr(importlib.import_module(module_name), attribute)
    if not callable(found):
        raise TypeError("target is not callable")
    return found  # type: ignore[no-any-return]


def cpu_limit_for(max_duration_s: float, *, margin_s: float) -> int:
    """Whole CPU seconds allowed for a run with this wall-clock budget."""
    return max(1, math.ceil(max_duration_s + margin_s))


class _Progress:
    """The `progress(done, total)` callback handed to the target; sends throttled frames."""

    def __init__(self, conn: Connection, interval_s: float) -> None:
        self._conn = conn
        self._interval_s = interval_s
        self._last = -math.inf
        self._lock = threading.Lock()
        self._pending: tuple[int, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval_s and done < total:
            self._pending = (done, total)
            return
        with self._lock:
            self._last, self._pending = now, None
            _send(self._conn, {"kind": KIND_PROGRESS, "done": int(done), "total": int(total)})

    def flush(self) -> None:
        """Send the last progress held back by the throttle (the exact count at the end)."""
        pending = self._pending
        if pending is not None:
            with self._lock:
                self._pending = None
                _send(self._conn, {"kind": KIND_PROGRESS, "done": pending[0], "total": pending[1]})


class _StopRequest:
    """`should_stop()` for the target: True once the parent has sent `STOP_SIGNAL`."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(STOP_SIGNAL, self._on_signal)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.requested = True

    def __call__(self) -> bool:
        return self.requested


def _send_result(conn: Connection, output: object) -> None:
    if not isinstance(output, dict):
        raise TypeError("the engine target returned something other than a dict")
    replay = output.get(REPLAY_KEY)
    if replay is not None and not isinstance(replay, bytes | bytearray | memoryview):
        raise TypeError("replay_npz is not bytes")
    header = {key: value for key, value in output.items() if key != REPLAY_KEY}
    frame = json.dumps({"kind": KIND_RESULT, "output": header, "has_replay": replay is not None})
    conn.send_bytes(frame.encode())
    if replay is not None:
        conn.send_bytes(replay)


def _report_error(conn: Connection, exc: BaseException, progress: "_Progress") -> None:
    partial = getattr(exc, "partial_output", None)
    frame = _error_frame(exc)
    if not isinstance(partial, dict):
        _report(conn, frame)
        return
    try:
        progress.flush()
        _send(conn, frame | {"has_output": True})
        _send_result(conn, partial)
    except (OSError, TypeError, ValueError):  # the parent keeps the failure without output
        return


def _error_frame(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "failure_code", None)
    reason = getattr(exc, "reason", None)
    frame: dict[str, Any] = {"kind": KIND_ERROR, "exception": type(exc).__name__}
    if (code is None or isinstance(code, str)) and isinstance(reason, str):
        frame |= {"failure_code": code, "reason": reason}
    return frame


def _report(conn: Connection, frame: dict[str, Any]) -> None:
    try:
        _send(conn, frame)
    except OSError:  # the parent stopped listening; it classifies the exit instead
        return


def _send(conn: Connection, frame: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(frame).encode())


def _set_limits(job: ChildJob) -> None:
    # Soft limit → SIGXCPU; the hard limit a little later → SIGKILL if SIGXCPU is ignored.
    _lower(resource.RLIMIT_CPU, job.cpu_limit_s, job.cpu_limit_s + 2)
    _lower(resource.RLIMIT_AS, job.memory_limit_bytes, job.memory_limit_bytes)
    # No core files: a crashing engine would otherwise write its whole heap to disk.
    _lower(resource.RLIMIT_CORE, 0, 0)


def _set_job_limits(job: ChildJob) -> None:
    """The limits of one job in a reused child. RLIMIT_CPU counts the process's whole
    life, so the job's allowance starts from what the child has used so far; the hard
    limit stays where it was (it cannot be raised again) and the parent's wall-clock
    deadline kills a child that ignored SIGXCPU. The address space is the same for every
    job of a child (one executor's limit)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used_s = math.ceil(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used_s + job.cpu_limit_s
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    _lower(resource.RLIMIT_AS, job.memory_limit_bytes, job.memory_limit_bytes)
    _lower(resource.RLIMIT_CORE, 0, 0)


def _lower(which: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def _silence_stdout() -> None:
    # pybullet prints from C (build banner, warnings with source paths) to fd 1,
    # which the API process uses for its JSON log lines.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def spare_main(warm_up: str, jobs: Connection, conn: Connection) -> None:
    """A child forked ahead of demand: warms up, says `ready`, runs the job it gets, and
    says `ready` again after each job it completed, for as long as the parent sends jobs.

    The warm-up (`warm_up`, a target name) pays a fresh child's first-touch costs
    (copy-on-write faults of the engine's memory, first loads) before any job waits for
    it. Nothing a run computes depends on it, nor on the jobs before: each run builds its
    world from its spec in a new engine client (bit-identical, tested). A job that failed
    ends the child, whatever the parent wants (a failure may have left state behind).
    EOF on `jobs` (the parent went away or retired the spare) ends it quietly.
    """
    die_with_parent()
    stop = _StopRequest()
    _silence_stdout()
    resolve_target(warm_up)()
    try:
        while True:
            try:
                conn.send_bytes(READY)
                job = jobs.recv()
            except (EOFError, OSError):
                return
            stop.requested = False
            _set_job_limits(job)
            if not _run_job(job, conn, stop) or stop.requested:
                return
    finally:
        jobs.close()
        conn.close()
