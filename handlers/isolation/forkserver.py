"""The fork server that starts simulation children with the engine already imported.

The API process never imports pybullet: only the fork server does (as a preload), and
each child is a fork of it, so a child starts in milliseconds. The server is shared by
the whole process (it is the standard library's); if it dies it is started again.
"""

import io
import multiprocessing
import multiprocessing.forkserver
import os
import time
from collections.abc import Callable, Sequence
from multiprocessing import popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, set_spawning_popen
from multiprocessing.process import BaseProcess
from typing import Any

from handlers.isolation.child import PRELOAD_ENV
from handlers.kit.names import FORK_SERVER_ENTRY, FORK_SERVER_PRELOAD

# Preparation data that would make every child re-run the API's main script
# (uvicorn's or qers' entry point: 0.1-1 s of imports). Children need only the target.
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")
_START_ATTEMPTS = 4
_RETRY_DELAY_S = 0.05
_CONTEXT: ForkServerContext = multiprocessing.get_context("forkserver")


def preload_for(target: str) -> list[str]:
    """The modules the fork server imports for children that call `target`."""
    module_name = target.partition(":")[0]
    return [*FORK_SERVER_PRELOAD, *([module_name] if module_name else [])]


def configure(*, preload: Sequence[str]) -> None:
    """Modules the server imports when it (re)starts; a running server keeps its own."""
    # Handed over in the environment because the server's own preloading gives up on
    # the first module that raises (see handlers.isolation.preload).
    # The owner's pid keeps any other importer of the preload module (the API) from preloading.
    os.environ[PRELOAD_ENV] = f"{os.getpid()}:{','.join(preload)}"
    _CONTEXT.set_forkserver_preload([FORK_SERVER_ENTRY])


def ensure_running() -> None:
    """Start the server if it is not running (or has died); blocks while it preloads."""
    multiprocessing.forkserver.ensure_running()


def server_pid() -> int | None:
    """The fork server's pid, or None before it has started."""
    pid = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def pipe() -> tuple[Connection, Connection]:
    """A one-way pipe (reader, writer) that can be handed to a child."""
    return _CONTEXT.Pipe(duplex=False)


class _Popen(popen_forkserver.Popen):
    """The standard forkserver Popen, minus re-importing `__main__` in the child."""

    def _launch(self, process_obj: BaseProcess) -> None:
        # CPython 3.11's popen_forkserver.Popen._launch, with _MAIN_KEYS dropped.
        prep_data = spawn.get_preparation_data(process_obj.name)
        for key in _MAIN_KEYS:
            prep_data.pop(key, None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        fds = self._fds  # type: ignore[attr-defined]
        self.sentinel, w = multiprocessing.forkserver.connect_to_new_process(fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, _close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = multiprocessing.forkserver.read_signed(self.sentinel)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


class _Process(BaseProcess):
    """A fork-server process that starts through `_Popen`."""

    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> _Popen:  # noqa: N802 (multiprocessing's name)
        return _Popen(process_obj)


def start_child(*, target: Callable[..., None], args: tuple[Any, ...]) -> BaseProcess:
    """Fork a daemon child running `target(*args)`; retries if the server was lost."""
    for attempt in range(_START_ATTEMPTS):
        process = _Process(target=target, args=args, daemon=True)
        try:
            process.start()
        except (OSError, EOFError):
            # The server died: its socket closes before it becomes a zombie that
            # ensure_running() can reap and replace, so wait a moment and retry.
            if attempt == _START_ATTEMPTS - 1:
                raise
            time.sleep(_RETRY_DELAY_S * (attempt + 1))
            continue
        return process
    raise AssertionError("unreachable")
