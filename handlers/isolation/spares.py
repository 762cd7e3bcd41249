"""Warm spares: simulation children forked and warmed up before a run needs one, and
reused for run after run (the pool of warm children).

A child forked from the fork server still pays first-touch costs when its run starts
(copy-on-write faults of the engine's memory, the first loads: about 10 ms of a short
run). A spare pays them ahead of demand: it is forked, runs `warm_up`, reports `ready` and
waits for its job on a pipe. `SparePool.take` hands one over (or None: the run starts the
usual way). A spare whose run reported a result is `give_back`-ed: it says `ready` again
and takes the next run, until it has run `max_episodes` or grown `max_growth_bytes` past
its size when it first got ready (then it is retired, so leaks cannot pile up). A run that
crashed, hung, hit a limit, failed or was cancelled is never given back: its child is
killed and reaped as before, and `refill` warms a replacement in the background. Spares
cost idle memory (one child each, mostly shared with the fork server).
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
# A child says `ready` right after its result: one that has not within this is retired.
GIVE_BACK_READY_S = 1.0
RETURN_WAIT_S = 0.25  # longest a run waits for a spare being given back
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
_log = structlog.get_logger("qers.spares")


@dataclass
class Spare:
    """A warmed-up child waiting for its job."""

    process: BaseProcess
    jobs: Connection  # parent -> child: the ChildJob
    reader: Connection  # child -> parent: the frames of its run
    episodes: int = 0  # runs it has reported
    ready_rss: int = 0  # resident bytes when it first got ready (0: unknown)

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

    def __init__(
        self,
        *,
        size: int,
        warm_up: str,
        max_episodes: int = 1,
        max_growth_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.size = size
        self._warm_up = warm_up
        self.max_episodes = max_episodes
        self.max_growth_bytes = max_growth_bytes
        self._owner = os.getpid()
        self._ready: list[Spare] = []
        self._starting = 0
        self._busy = 0  # reusable spares running a job: they come back, so count them
        self._returning = 0  # of which reported a result and are being given back
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)
        self.taken = 0  # spares handed out (for tests and benches)
        self.reused = 0  # of which spares that had run before
        self.retired = 0  # spares given back but retired (episodes, growth, not ready)

    def take(self) -> Spare | None:
        """A ready spare, or None. The caller `refill`s once it is done with its run
        (stored, answered), so the replacement's warm-up competes with none of it."""
        if self.size == 0 or os.getpid() != self._owner:
            return None
        spare = None
        with self._lock:
            # A spare that has just reported comes back within a millisecond or so: wait
            # for it rather than fork a cold child (~10-30 ms).
            self._returned.wait_for(lambda: self._ready or not self._returning, RETURN_WAIT_S)
            while self._ready and spare is None:
                candidate = self._ready.pop()
                if candidate.process.is_alive():
                    spare = candidate
                else:
                    candidate.retire()
            if spare is not None:
                self.taken += 1
                self.reused += spare.episodes > 0
                self._busy += self.max_episodes > 1
        return spare

    def returning(self) -> None:
        """A spare's run reported a result: `give_back` follows (on another thread); a run
        that finds no ready spare waits for it (only if spares are reused)."""
        if self.max_episodes > 1:
            with self._lock:
                self._returning += 1

    def give_back(self, spare: Spare) -> bool:
        """Take back a spare whose run reported a result: ready for the next run, unless it
        has run `max_episodes`, grew too much or does not say `ready` (then it is retired).
        Returns whether it was kept."""
        spare.episodes += 1
        keep = (
            os.getpid() == self._owner
            and spare.episodes < self.max_episodes
            and self._fits(spare)
            and _ready(spare.reader, GIVE_BACK_READY_S)
        )
        with self._lock:
            # Counted busy until it is ready again (or retired): a `refill` meanwhile
            # must not start a spare in its place, which would then retire it.
            if self.max_episodes > 1:
                self._busy -= 1
            keep = keep and len(self._ready) < self.size
            if keep:
                self._ready.append(spare)
            self._returning = max(0, self._returning - 1)
            self._returned.notify_all()
        if not keep:
            self.retired += 1
            spare.retire()
        return keep

    def lost(self, spare: Spare) -> None:
        """A spare's run did not report a result: its child is being killed and reaped by
        the caller; `refill` will warm a replacement."""
        self._release()
        spare.jobs.close()

    def _release(self) -> None:
        if self.max_episodes > 1:
            with self._lock:
                self._busy -= 1

    def _fits(self, spare: Spare) -> bool:
        rss = _resident_bytes(spare.process.pid)
        return rss is not None and rss - spare.ready_rss <= self.max_growth_bytes

    def refill(self) -> None:
        """Start spares in the background until `size` are ready or starting."""
        if self.size == 0 or os.getpid() != self._owner:
            return
        with self._lock:
            missing = self.size - len(self._ready) - self._starting - self._busy
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
            if not _ready(reader, READY_TIMEOUT_S):
                raise EOFError("the spare did not get ready")
            spare.ready_rss = _resident_bytes(process.pid) or 0
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


def _ready(reader: Connection, timeout_s: float) -> bool:
    """Whether the child's next frame, within `timeout_s`, is `ready`."""
    try:
        return reader.poll(timeout_s) and reader.recv_bytes(len(READY) + 1) == READY
    except (EOFError, OSError):
        return False


def _resident_bytes(pid: int | None) -> int | None:
    """The resident set of a live process (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None
