"""Engine probe in a child process (killed on timeout, cached) and storage probe."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from handlers.health import probes as enginecheck
from handlers.health.probes import (
    CachedEngineProbe,
    EngineProbe,
    probe_engine,
    probe_engine_async,
    probe_storage,
)

ROOT = Path(__file__).resolve().parents[3]


def _probe_async(timeout_s: float) -> EngineProbe:
    return asyncio.run(probe_engine_async(timeout_s))


RUNNERS = pytest.mark.parametrize("run", [probe_engine, _probe_async], ids=["sync", "async"])
Runner = Callable[[float], EngineProbe]


def use_child(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    monkeypatch.setattr(enginecheck, "engine_command", lambda: [sys.executable, "-c", code])


def test_engine_starts_in_a_child() -> None:
    probe = probe_engine(timeout_s=60)
    assert probe.ok, probe
    assert probe.detail.startswith("pybullet API")
    assert probe.duration_ms > 0


def test_async_probe_agrees() -> None:
    probe = _probe_async(60)
    assert probe.ok, probe


def test_the_api_process_does_not_import_pybullet() -> None:
    script = (
        "import sys\n"
        "from handlers.health.probes import probe_engine\n"
        "assert probe_engine(60).ok\n"
        "print('pybullet' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@RUNNERS
def test_failure_is_named_without_its_message(monkeypatch: pytest.MonkeyPatch, run: Runner) -> None:
    use_child(monkeypatch, "print('error ModuleNotFoundError'); raise SystemExit(3)")
    probe = run(10)
    assert probe == EngineProbe(
        False, "engine child failed: ModuleNotFoundError", probe.duration_ms
    )


@RUNNERS
def test_crash_is_reported_by_signal(monkeypatch: pytest.MonkeyPatch, run: Runner) -> None:
    use_child(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    probe = run(10)
    assert not probe.ok
    assert probe.detail == "engine child killed by SIGSEGV"


def test_odd_exit_is_reported_by_code(monkeypatch: pytest.MonkeyPatch) -> None:
    use_child(monkeypatch, "raise SystemExit(7)")
    assert probe_engine(10).detail == "engine child exited with code 7"


@RUNNERS
def test_hung_child_is_killed_on_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run: Runner
) -> None:
    pid_file = tmp_path / "pid"
    use_child(
        monkeypatch,
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)",
    )
    started = time.monotonic()
    probe = run(1.0)
    assert time.monotonic() - started < 10
    assert not probe.ok
    assert probe.detail == "engine child timed out after 1 s"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_child_that_cannot_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-python")
    monkeypatch.setattr(enginecheck, "engine_command", lambda: [missing])
    probe = probe_engine(5)
    assert not probe.ok
    assert missing not in probe.detail
    assert probe.detail.startswith("engine child could not start")


def test_cache_probes_once_per_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []

    async def fake_probe(timeout_s: float) -> EngineProbe:
        calls.append(timeout_s)
        await asyncio.sleep(0.01)
        return EngineProbe(True, f"probe {len(calls)}", 1.0)

    monkeypatch.setattr(enginecheck, "probe_engine_async", fake_probe)
    now = [100.0]
    cache = CachedEngineProbe(timeout_s=3, ttl_s=30, clock=lambda: now[0])

    async def scenario() -> list[str]:
        first = await asyncio.gather(*(cache.get() for _ in range(5)))
        now[0] += 29
        second = await cache.get()
        now[0] += 2
        third = await cache.get()
        return [p.detail for p in [*first, second, third]]

    assert asyncio.run(scenario()) == ["probe 1"] * 6 + ["probe 2"]
    assert calls == [3, 3]


def test_storage_probe_creates_and_writes(tmp_path: Path) -> None:
    runs = tmp_path / "deep" / "runs"
    assert probe_storage(runs) == (True, "runs directory is writable")
    assert runs.is_dir()
    assert list(runs.iterdir()) == []


def test_storage_probe_reports_without_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the folder should be")
    writable, detail = probe_storage(blocker)
    assert not writable
    assert detail.startswith("runs directory is not writable")
    assert str(tmp_path) not in detail
