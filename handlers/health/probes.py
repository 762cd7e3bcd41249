"""Health probes: can the engine start in a child process, is RUNS_DIR writable.

The API process never imports pybullet; only the child started here does.
"""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# Runs in the child. Prints one line: "ok <api version>" or "error <exception class>",
# never a message (it may hold server paths).
_CHILD_CODE = """\
import sys
try:
    import pybullet as p
    client = p.connect(p.DIRECT)
    if client < 0:
        raise RuntimeError
    p.setGravity(0, 0, -9.81, physicsClientId=client)
    p.stepSimulation(physicsClientId=client)
    p.disconnect(physicsClientId=client)
except BaseException as exc:
    print("error", type(exc).__name__)
    sys.exit(3)
print("ok", p.getAPIVersion())
"""
_OUTPUT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class EngineProbe:
    """Outcome of one engine probe."""

    ok: bool
    detail: str
    duration_ms: float


class StorageProbe(NamedTuple):
    """Outcome of one storage probe."""

    writable: bool
    detail: str


def engine_command() -> list[str]:
    """The child's command line: this interpreter, isolated mode, inline code."""
    return [sys.executable, "-I", "-c", _CHILD_CODE]


def probe_engine(timeout_s: float) -> EngineProbe:
    """Start pybullet in a child (DIRECT, one step); kill it after `timeout_s`."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            engine_command(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:  # run() has killed and reaped the child
        return _timed_out(timeout_s, started)
    except OSError as exc:
        return _could_not_start(exc, started)
    return _interpret(done.returncode, done.stdout, started)


async def probe_engine_async(timeout_s: float) -> EngineProbe:
    """`probe_engine` without blocking the event loop."""
    started = time.perf_counter()
    try:
        process = await asyncio.create_subprocess_exec(
            *engine_command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        return _could_not_start(exc, started)
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return _timed_out(timeout_s, started)
    return _interpret(process.returncode, stdout, started)


class CachedEngineProbe:
    """Probes at most once per `ttl_s`; concurrent callers share one probe."""

    def __init__(
        self,
        *,
        timeout_s: float,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout_s = timeout_s
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: EngineProbe | None = None
        self._at = 0.0

    async def get(self) -> EngineProbe:
        """The cached probe if still fresh, else a new one."""
        async with self._lock:
            if self._cached is None or self._clock() - self._at >= self._ttl_s:
                self._cached = await probe_engine_async(self._timeout_s)
                self._at = self._clock()
            return self._cached


def probe_storage(runs_dir: Path) -> StorageProbe:
    """Create `runs_dir` if missing; write, fsync and delete a temporary file in it."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".probe-", dir=runs_dir)
        try:
            os.write(fd, b"qers storage probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        # strerror only: the exception's text carries the server path.
        return StorageProbe(False, f"runs directory is not writable: {exc.strerror or 'error'}")
    return StorageProbe(True, "runs directory is writable")


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _timed_out(timeout_s: float, started: float) -> EngineProbe:
    return EngineProbe(False, f"engine child timed out after {timeout_s:g} s", _elapsed_ms(started))


def _could_not_start(exc: OSError, started: float) -> EngineProbe:
    reason = exc.strerror or type(exc).__name__
    return EngineProbe(False, f"engine child could not start: {reason}", _elapsed_ms(started))


def _interpret(returncode: int | None, stdout: bytes, started: float) -> EngineProbe:
    elapsed = _elapsed_ms(started)
    last = _last_line(stdout)
    if returncode == 0 and last.startswith("ok "):
        return EngineProbe(True, f"pybullet API {last[3:]} stepped in DIRECT mode", elapsed)
    if last.startswith("error "):
        return EngineProbe(False, f"engine child failed: {last[6:]}", elapsed)
    if returncode is not None and returncode < 0:
        return EngineProbe(False, f"engine child killed by {_signal_name(-returncode)}", elapsed)
    return EngineProbe(False, f"engine child exited with code {returncode}", elapsed)


def _last_line(stdout: bytes) -> str:
    lines = stdout[-_OUTPUT_LIMIT:].decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip()[:200] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
