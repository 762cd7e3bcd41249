"""Imported by the fork server: loads the engine modules listed in QERS_SIM_PRELOAD.

The standard fork server stops at the first preload that raises anything but
ImportError, and then dies on every start. Here a broken engine module is skipped:
each child imports it again and reports the real error as that run's failure.
"""

import contextlib
import ctypes
import gc
import importlib
import os
import sys
from collections.abc import Iterator

from handlers.isolation.child import PRELOAD_ENV
from simengine.cpu import numpy_without_avx512

_FDS = (1, 2)  # stdout, stderr


def preload() -> None:
    """Import every module named in the environment variable, ignoring failures."""
    owner, _, names = os.environ.get(PRELOAD_ENV, "").partition(":")
    if owner != str(os.getppid()):
        return  # not the fork server that process started (e.g. the API itself)
    numpy_without_avx512(os.environ)  # before the first preload, numpy, is imported
    with _quiet_fds():
        for name in filter(None, names.split(",")):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (reported by the child that needs the module)
                continue
    # Children share the server's pages until they write to them; a full garbage
    # collection in a child would touch (and so copy) every object header. Frozen
    # objects are left out of collections.
    gc.freeze()


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Send fds 1 and 2 to /dev/null meanwhile: pybullet's C code prints its build banner
    on import (to stderr in 3.2.7, stdout in some builds) and loader chatter while the
    engine warms up, and the server's streams carry JSON log lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in _FDS]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in _FDS:
            os.dup2(devnull, fd)
        yield
    finally:
        _flush_c_stdio()  # C's buffers must empty into /dev/null, not into the logs
        for fd, copy in zip(_FDS, saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _flush_c_stdio() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


preload()
