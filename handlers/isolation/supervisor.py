"""A run supervised on a thread of its own and awaited on the event loop (`execute_async`).

The thread follows the child, hands the result to the loop, and only then reaps a child that
is still exiting: the caller's answer waits for neither the reaping nor a thread started
for it.
"""

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from handlers.isolation.frames import ProgressCallback
from handlers.isolation.outcome import ExecutionResult

CancelSignal = threading.Event | Callable[[], bool]
# Reaps a child that reported its result and is exiting on its own time.
Reap = Callable[[], object]
# Runs one child to its end (blocking): progress and cancellation checks are given to it;
# it answers with the result and, if the child is still exiting, how to reap it.
Supervised = Callable[[ProgressCallback, Callable[[], bool]], tuple[ExecutionResult, Reap | None]]


async def supervise_async(
    supervised: Supervised,
    *,
    on_progress: ProgressCallback | None = None,
    cancel_event: CancelSignal | None = None,
) -> ExecutionResult:
    """`supervised` on its own thread; progress is delivered on the event loop. Cancelling
    the awaiting task stops the child (within one poll interval of the supervisor)."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    user_cancel = as_callable(cancel_event)
    future: asyncio.Future[ExecutionResult] = loop.create_future()

    def relay(done: int, total: int) -> None:
        if on_progress is not None:
            _call_soon(loop, on_progress, done, total)

    def work() -> None:
        try:
            result, reap = supervised(relay, lambda: stop.is_set() or user_cancel())
        except BaseException as exc:
            _call_soon(loop, _settle, future, None, exc)
            return
        _call_soon(loop, _settle, future, result, None)
        if reap is not None:
            reap()  # the result is on its way: this thread may now wait for the exit

    _supervisors().submit(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()  # the supervisor kills the child within one poll interval
        raise


# Supervisor threads are kept and reused: starting one per run cost ~1 ms of a short run.
# Each runs one child to its end; the admission limit and batch lanes bound how many run.
_MAX_SUPERVISORS = 512
_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _supervisors() -> ThreadPoolExecutor:
    """This process's supervisor threads (a forked process makes its own)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            pool = ThreadPoolExecutor(_MAX_SUPERVISORS, thread_name_prefix="qers-sim-supervisor")
            _POOL = (os.getpid(), pool)
        return _POOL[1]


def as_callable(cancel: CancelSignal | None) -> Callable[[], bool]:
    """A cancellation check from an Event, a callable or nothing."""
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    return cancel


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """Schedule `callback` on `loop` from another thread; nothing if the loop has closed."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # closed: nobody is waiting for this run any more
        return


def _settle(
    future: "asyncio.Future[ExecutionResult]",
    result: ExecutionResult | None,
    error: BaseException | None,
) -> None:
    """Complete `future` unless it was cancelled meanwhile."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    elif result is not None:
        future.set_result(result)
