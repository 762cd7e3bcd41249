"""Helpers for the queued-mode tests: `qers worker` processes and a private Redis server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

QERS = Path(sys.executable).with_name("qers")


def worker_env(redis_url: str, runs_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `qers worker` for these tests (short liveness timings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QERS_")}
    env.update(
        REDIS_URL=redis_url,
        RUNS_DIR=str(runs_dir),
        QERS_WORKER_HEARTBEAT_S="0.5",
        QERS_WORKER_LOST_AFTER_S="3",
        QERS_RECONCILE_INTERVAL_S="1",
        QERS_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def start_worker(env: dict[str, str], *, burst: bool = False) -> subprocess.Popen[bytes]:
    """A real `qers worker` in its own process group (so a test can kill it whole)."""
    args = [str(QERS), "worker", *(["--burst"] if burst else [])]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a worker (and its horses) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    if process.stderr is not None:
        process.stderr.close()


def wait_for(
    check: Callable[[], Any], *, timeout_s: float, interval_s: float = 0.1, what: str = ""
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what or check}")
        time.sleep(interval_s)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of the test's own on a free port, to stop and restart at will."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed; the Redis outage test needs one")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(up, timeout_s=10, what="redis-server to answer")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
