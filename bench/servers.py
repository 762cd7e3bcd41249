"""Start and stop uvicorn servers for the benches."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import SERVER_ENVIRON

ROOT = Path(__file__).resolve().parents[1]
# The processes under this one are idle once their CPU time stood still this many polls in a row.
SETTLE_POLL_S = 0.025
SETTLE_QUIET_POLLS = 3
SETTLE_TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start in {timeout_s}s")


@contextlib.contextmanager
def uvicorn_server(
    target: str, *, factory: bool, env: dict[str, str] | None = None, cpu: int | None = None
) -> Iterator[int]:
    """Run `uvicorn target` on a free loopback port; yield the port."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--no-access-log", "--log-level", "warning"]
    if factory:
        args.append("--factory")
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**SERVER_ENVIRON, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(proc.pid, {cpu})
        wait_ready(port)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def descendants_cpu_ticks() -> dict[int, int]:
    """User + system clock ticks of every live process under this one (servers, fork
    servers, spares, children), by pid; from /proc, empty where it is not readable."""
    ticks: dict[int, int] = {}
    pending = [os.getpid()]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
            if pid != os.getpid():
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
                ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def settle_descendants() -> None:
    """Wait until the processes under this one have finished their background work (a
    fork server's preload, a spare's warm-up after a POST), so that it does not compete
    with what is timed next. Without /proc, a fixed pause several times a warm-up's CPU
    time."""
    if not os.path.exists(f"/proc/{os.getpid()}/task"):
        time.sleep(1.0)
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    before, quiet = descendants_cpu_ticks(), 0
    while quiet < SETTLE_QUIET_POLLS and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        now = descendants_cpu_ticks()
        busy = any(spent > before.get(pid, 0) for pid, spent in now.items())
        before, quiet = now, 0 if busy else quiet + 1
