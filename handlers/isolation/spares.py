"""Warm spares: simulation children forked and warmed up before a run needs one.

A child forked from the fork server still pays first-touch costs when its run starts
(copy-on-write faults of the engine's memory, the first loads: about 10 ms of a short
run). A spare pays them ahead of demand: it is forked, runs `warm_up`, reports `ready` and
waits for its job on a pipe. `SparePool.take` hands one over (or None: the run starts the
usual way); the caller `refill`s once its run is answered, and a replacement warms up in the
background. Spares cost idle CPU and memory
(one child each), so the API enables them for its synchronous runs; batch lanes and
workers that fork per job do not.
"""

import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import structlog

from handlers.isolation import forkserver
from handlers.isolation.child import READY, spare_main

READY_TIMEOUT_S = 30.0
_log = structlog.get_logger("qers.spares")


@dataclass
class Spare:
    """A warmed-up child waiting for its job."""

    process: BaseProcess
    jobs: Connection  # parent -> child: the ChildJob
    reader: Connection  # child -> parent: the frames of its run

    def retire(self) -> None:
        """Stop the spare (it was not used) and reap it."""
        for conn in (self.jobs, self.reader):
            conn.close()
        self.process.join(1.0)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join(5.0)


class SparePool:
    """Keeps up to `size` warm spares ready; safe to share between threads.

    Only the process that made the pool uses it: a forked copy (an RQ work horse) sees
    an empty pool, since the spares' pipes belong to its parent.
    """

    def __init__(self, *, size: int, warm_up: str) -> None:
        self.size = size
        self._warm_up = warm_up
        self._owner = os.getpid()
        self._ready: list[Spare] = []
        self._starting = 0
        self._lock = threading.Lock()
        self.taken = 0  # spares handed out (for tests and benches)

    def take(self) -> Spare | None:
        """A ready spare, or None. The caller `refill`s once it is done with its run
        (stored, answered), so the replacement's warm-up competes with none of it."""
        if self.size == 0 or os.getpid() != self._owner:
            return None
        spare = None
        with self._lock:
            while self._ready and spare is None:
                candidate = self._ready.pop()
                if candidate.process.is_alive():
                    spare = candidate
                else:
                    candidate.retire()
            if spare is not None:
                self.taken += 1
        return spare

    def refill(self) -> None:
        """Start spares in the background until `size` are ready or starting."""
        if self.size == 0 or os.getpid() != self._owner:
            return
        with self._lock:
            missing = self.size - len(self._ready) - self._starting
            self._starting += max(0, missing)
        for _ in range(missing):
            threading.Thread(target=self._start_one, name="qers-spare", daemon=True).start()

    def close(self) -> None:
        """Retire every ready spare."""
        with self._lock:
            spares, self._ready = self._ready, []
        for spare in spares:
            spare.retire()

    def _start_one(self) -> None:
        spare = None
        try:
            jobs_in, jobs = forkserver.pipe()
            reader, writer = forkserver.pipe()
            try:
                process = forkserver.start_child(
                    target=spare_main, args=(self._warm_up, jobs_in, writer)
                )
            finally:
                jobs_in.close()
                writer.close()
            spare = Spare(process=process, jobs=jobs, reader=reader)
            if not (reader.poll(READY_TIMEOUT_S) and reader.recv_bytes() == READY):
                raise EOFError("the spare did not get ready")
        except (OSError, EOFError) as exc:
            _log.warning("no warm spare", error=str(exc))  # runs start the usual way
            if spare is not None:
                spare.retire()
            spare = None
        finally:
            with self._lock:
                self._starting -= 1
                if spare is not None:
                    self._ready.append(spare)
