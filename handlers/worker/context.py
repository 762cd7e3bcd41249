"""What every job of a worker shares: its settings, its executor and its name."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from handlers.isolation.executor import Executor
from handlers.settings import Settings


@dataclass
class WorkerContext:
    """What every job of this worker shares (set before the first fork)."""

    settings: Settings
    executor: Executor
    name: str


_context: WorkerContext | None = None


def install(context: WorkerContext) -> None:
    """Make `context` the one this worker's jobs use (before the first fork)."""
    global _context
    _context = context


def current() -> WorkerContext:
    """This worker's context; a job executed outside `qers worker` (e.g. by rq's own
    worker command) makes one from the environment."""
    global _context
    if _context is None:
        _context = WorkerContext(Settings.from_env(), Executor(), worker_name())
    return _context


def installed() -> WorkerContext | None:
    """This worker's context if `qers worker` installed one."""
    return _context


def worker_name() -> str:
    """A worker name unique on this host."""
    return f"qers-{socket.gethostname()}-{os.getpid()}"
