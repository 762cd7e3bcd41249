"""Process owners: is the process that recorded something still the one running?"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.kit.owner import Liveness, ProcessOwner, start_time


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def _owner_of(pid: int) -> ProcessOwner:
    started = start_time(pid)
    assert started is not None
    return dataclasses.replace(ProcessOwner.current(), pid=pid, start_time=started)


def test_this_process_is_alive() -> None:
    assert ProcessOwner.current().liveness() is Liveness.ALIVE


def test_another_live_process_is_alive(sleeper: subprocess.Popen[bytes]) -> None:
    assert _owner_of(sleeper.pid).liveness() is Liveness.ALIVE


def test_an_exited_process_is_dead(sleeper: subprocess.Popen[bytes]) -> None:
    owner = _owner_of(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert owner.liveness() is Liveness.DEAD


def test_a_zombie_is_dead(sleeper: subprocess.Popen[bytes]) -> None:
    owner = _owner_of(sleeper.pid)
    sleeper.kill()  # not reaped yet: /proc still lists it, in state Z
    for _ in range(200):
        if start_time(sleeper.pid) is None:
            break
        time.sleep(0.01)
    assert Path(f"/proc/{sleeper.pid}").exists()
    assert owner.liveness() is Liveness.DEAD


def test_a_recycled_pid_is_not_the_owner() -> None:
    me = ProcessOwner.current()
    older = dataclasses.replace(me, start_time=me.start_time - 1)
    assert older.liveness() is Liveness.DEAD


def test_another_boot_of_this_host_is_dead() -> None:
    before_reboot = dataclasses.replace(ProcessOwner.current(), boot_id="another-boot")
    assert before_reboot.liveness() is Liveness.DEAD


@pytest.mark.parametrize(
    "elsewhere",
    [
        dataclasses.replace(ProcessOwner.current(), host="another-host", pid=1),
        dataclasses.replace(ProcessOwner.current(), pid_namespace="pid:[1]", pid=1),
    ],
    ids=["other-host", "other-pid-namespace"],
)
def test_another_host_or_namespace_cannot_be_judged(elsewhere: ProcessOwner) -> None:
    assert elsewhere.liveness() is Liveness.UNKNOWN


def test_document_round_trip() -> None:
    me = ProcessOwner.current()
    assert ProcessOwner.from_document(me.document()) == me


@pytest.mark.parametrize(
    "document", [{}, {"host": "h"}, {**ProcessOwner.current().document(), "pid": "x"}]
)
def test_not_an_owner(document: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a process owner"):
        ProcessOwner.from_document(document)


def test_start_time_reads_field_22_past_an_awkward_name(tmp_path: Path) -> None:
    rest = " ".join(str(n) for n in range(4, 52))  # fields 4.. : field 22 holds "22"
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "stat").write_text(f"7 (a) b (c) S {rest}\n")
    assert start_time(7, proc=tmp_path) == 22
    assert start_time(8, proc=tmp_path) is None
