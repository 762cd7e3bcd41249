"""Run one simulation in an isolated, limited child process and classify how it ended.

The child is forked from a fork server that has the engine preloaded (see
`handlers.isolation.forkserver`); it runs under CPU-time and address-space limits and is killed
at the run's wall-clock budget. A cancelled run is first asked to stop (`STOP_SIGNAL`):
the engine ends at its next step and reports what it has, which the result carries; a
child that has not reported within `cancel_grace_s` is killed. Whatever the child does
(crash, hang, exhaust memory, send garbage), `execute` returns an `ExecutionResult`.
"""

import contextlib
import functools
import math
import os
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from handlers.isolation import forkserver, outcome
from handlers.isolation.child import (
    STOP_SIGNAL,
    ChildJob,
    TargetRef,
    child_main,
    cpu_limit_for,
    target_name,
)
from handlers.isolation.frames import ChildReport, FrameReader, ProgressCallback
from handlers.isolation.outcome import Ending, ExecutionResult
from handlers.isolation.spares import Spare, SparePool
from handlers.isolation.supervisor import CancelSignal, Reap, as_callable, supervise_async
from simengine import api as engine_api

# What a child runs by default: one simulation (simengine.api imports no pybullet itself).
DEFAULT_TARGET = engine_api.run_spec
GIB = 1024**3
_REAP_TIMEOUT_S = 5.0  # after SIGKILL; only a lost fork server could make this wait


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """Limits and timings for simulation children."""

    target: TargetRef = DEFAULT_TARGET
    memory_limit_bytes: int = 2 * GIB
    cpu_margin_s: float = 5.0
    progress_interval_s: float = 0.1
    poll_interval_s: float = 0.05
    exit_grace_s: float = 5.0
    # How long a cancelled child may take to stop and report its partial result.
    cancel_grace_s: float = 1.0
    max_frame_bytes: int = 256 * 1024 * 1024
    # Warm spare children kept ready (handlers.isolation.spares); 0: every run forks when it starts.
    spares: int = 0
    spare_warm_up: TargetRef = engine_api.warm_spare
    # Runs one spare serves before it is retired (1: a fresh child per run), and how much
    # it may grow past its size when first ready.
    spare_max_episodes: int = 1
    spare_max_growth_bytes: int = 256 * 1024 * 1024


def pooled(*, spares: int, max_episodes: int, max_growth_mb: int) -> ExecutorConfig:
    """The config of simulation runs served by `spares` warm children, each reused for up
    to `max_episodes` runs and `max_growth_mb` of growth (QERS_WARM_SPARES and
    QERS_SIM_CHILD_MAX_*)."""
    return ExecutorConfig(
        spares=spares,
        spare_max_episodes=max_episodes,
        spare_max_growth_bytes=max_growth_mb * 1024 * 1024,
    )


class Executor:
    """Runs simulations in fork-server children; safe to share between threads."""

    def __init__(self, config: ExecutorConfig | None = None) -> None:
        self.config = config or ExecutorConfig()
        self._target = target_name(self.config.target)
        forkserver.configure(preload=forkserver.preload_for(self._target))
        # A spare warms up the simulation engine: other targets fork when they start.
        spares = self.config.spares if self.config.target is DEFAULT_TARGET else 0
        self.spares = SparePool(
            size=spares,
            warm_up=target_name(self.config.spare_warm_up),
            max_episodes=self.config.spare_max_episodes,
            max_growth_bytes=self.config.spare_max_growth_bytes,
        )

    def warm_up(self) -> None:
        """Start the fork server now (it imports the engine) rather than on the first run,
        and the warm spares."""
        forkserver.ensure_running()
        self.spares.refill()

    def execute(
        self,
        spec: dict[str, Any],
        *,
        max_duration_s: float,
        on_progress: ProgressCallback | None = None,
        cancel_event: CancelSignal | None = None,
    ) -> ExecutionResult:
        """Run `spec` in a child; blocks until it ends, times out or is cancelled."""
        result, reap = self._run(spec, max_duration_s, on_progress, cancel_event)
        if reap is not None:  # the result is in hand: the child exits on its own time
            threading.Thread(target=reap, daemon=True).start()
        return result

    async def execute_async(
        self,
        spec: dict[str, Any],
        *,
        max_duration_s: float,
        on_progress: ProgressCallback | None = None,
        cancel_event: CancelSignal | None = None,
    ) -> ExecutionResult:
        """`execute` on a supervisor thread (which then reaps the child); progress is
        delivered on the event loop."""
        return await supervise_async(
            lambda relay, cancelled: self._run(spec, max_duration_s, relay, cancelled),
            on_progress=on_progress,
            cancel_event=cancel_event,
        )

    def _run(
        self,
        spec: dict[str, Any],
        max_duration_s: float,
        on_progress: ProgressCallback | None,
        cancel_event: CancelSignal | None,
    ) -> tuple[ExecutionResult, Reap | None]:
        """Run `spec` in a child until it reports, ends, times out or is cancelled. With the
        result: how to reap a child that reported success and is exiting on its own time,
        so that the caller reaps it once the result is delivered (None: already reaped)."""
        if not (math.isfinite(max_duration_s) and max_duration_s > 0):
            raise ValueError("max_duration_s must be a positive, finite number of seconds")
        started = time.monotonic()
        cpu_limit_s = cpu_limit_for(max_duration_s, margin_s=self.config.cpu_margin_s)
        job = ChildJob(
            target=self._target,
            spec=spec,
            cpu_limit_s=cpu_limit_s,
            memory_limit_bytes=self.config.memory_limit_bytes,
            progress_interval_s=self.config.progress_interval_s,
        )
        spare = self._hand_to_spare(job)
        started_child = (spare.process, spare.reader) if spare is not None else self._start(job)
        if isinstance(started_child, BaseException):
            return outcome.not_started(started_child, time.monotonic() - started), None
        process, reader = started_child
        frames = FrameReader(
            reader=reader,
            report=ChildReport(),
            max_frame_bytes=self.config.max_frame_bytes,
            memory_limit_bytes=self.config.memory_limit_bytes,
            on_progress=on_progress,
        )
        ending: Ending = "aborted"
        stop_deadline = 0.0
        reap: Reap | None = None
        try:
            ending = self._supervise(process, frames, started + max_duration_s, cancel_event)
            if ending == "cancelled":
                stop_deadline = time.monotonic() + self.config.cancel_grace_s
                self._stop(process, frames, stop_deadline)
        finally:
            if ending in ("reported", "exited"):
                grace_s = self.config.exit_grace_s
            elif ending == "cancelled" and frames.report.finished:
                grace_s = max(0.0, stop_deadline - time.monotonic())  # it is exiting
            else:
                grace_s = 0.0
            if ending == "reported" and frames.report.succeeded:
                # The result is in hand: the spare takes the next run, or the child exits
                # on its own time, once the caller has the result (exit_code None).
                exit_code = None
                if spare is not None:
                    self.spares.returning()
                    reap = functools.partial(self.spares.give_back, spare)
                else:
                    reap = functools.partial(_reap, process, grace_s=grace_s)
                    reader.close()
            else:
                if spare is not None:
                    self.spares.lost(spare)
                exit_code = _reap(process, grace_s=grace_s)
                reader.close()
        elapsed = time.monotonic() - started
        result = outcome.classify(
            frames.report,
            ending=ending,
            exit_code=exit_code,
            elapsed_s=elapsed,
            max_duration_s=max_duration_s,
            cpu_limit_s=cpu_limit_s,
            memory_limit_bytes=self.config.memory_limit_bytes,
        )
        return result, reap

    def replenish(self) -> None:
        """Start warm spares up to the pool's size. Called by the caller once it has
        finished with a run (stored it, answered), so a spare's warm-up competes with
        neither the run nor its bookkeeping."""
        self.spares.refill()

    def _hand_to_spare(self, job: ChildJob) -> Spare | None:
        """Give `job` to a warm spare, if one is ready."""
        spare = self.spares.take()
        if spare is None:
            return None
        try:
            spare.jobs.send(job)
        except OSError:
            spare.retire()
            return None
        if self.spares.max_episodes <= 1:
            spare.jobs.close()  # its only job: EOF ends it after the run
        return spare

    def _start(self, job: ChildJob) -> tuple[BaseProcess, Connection] | OSError | EOFError:
        """Fork a child for `job` now; the error if the fork server cannot."""
        reader, writer = forkserver.pipe()
        try:
            process = forkserver.start_child(target=child_main, args=(job, writer))
        except (OSError, EOFError) as exc:
            reader.close()
            return exc
        finally:
            writer.close()  # the child has its own copy; EOF on `reader` means it is gone
        return process, reader

    def _supervise(
        self,
        process: BaseProcess,
        frames: FrameReader,
        deadline: float,
        cancel_event: CancelSignal | None,
    ) -> Ending:
        """Follow the child until it reports, exits, times out or is cancelled."""
        cancelled = as_callable(cancel_event)
        while not frames.report.finished:
            if cancelled():
                return "cancelled"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            if _follow(process, frames, min(remaining, self.config.poll_interval_s)):
                return "exited"
        return "reported"

    def _stop(self, process: BaseProcess, frames: FrameReader, deadline: float) -> None:
        """Ask the child to stop and read its frames until it reports or `deadline`."""
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, STOP_SIGNAL)
        while not frames.report.finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or _follow(process, frames, remaining):
                return


def _follow(process: BaseProcess, frames: FrameReader, timeout: float) -> bool:
    """Wait up to `timeout` for a frame (handled) or the child's exit; True once it exited."""
    waitables: list[Any] = [process.sentinel]
    if not frames.closed:
        waitables.append(frames.reader)
    ready = wait(waitables, timeout=timeout)
    if frames.reader in ready:
        frames.read()
        return False
    if process.sentinel in ready:
        frames.drain()
        return True
    return False


def _reap(process: BaseProcess, *, grace_s: float) -> int | None:
    """Give the child `grace_s` to exit, SIGKILL it if it has not, and reap it."""
    process.join(grace_s)
    if process.exitcode is None:
        process.kill()
        process.join(_REAP_TIMEOUT_S)
    exit_code = process.exitcode
    if exit_code is not None:
        process.close()
    return exit_code
