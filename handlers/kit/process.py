"""Process lifetime: a supervised process must not outlive the one that supervises it."""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    Simulation children die with their fork server, a worker's work horses with their
    worker: nothing runs on unsupervised, holding a run that nobody will record.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
