"""Group commits: one syncfs per filesystem where Linux has it, every file fsynced elsewhere."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from handlers.kit import atomic


def _folders(root: Path, count: int) -> list[Path]:
    made = []
    for i in range(count):
        folder = root / f"run_{i}"
        folder.mkdir()
        for name in ("run.json", "replay.npz"):
            atomic.write_file(folder / name, b"x" * 100, durable=False)
        made.append(folder)
    return made


def test_a_group_commit_is_one_syncfs_per_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(atomic, "_syncfs_call", lambda: lambda fd: synced.append(fd) or 0)
    monkeypatch.setattr(os, "fsync", lambda fd: pytest.fail("no fsync expected"))
    atomic.fsync_tree(_folders(tmp_path, 5))
    assert len(synced) == 1


def test_without_syncfs_every_file_and_folder_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "_syncfs_call", lambda: None)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    atomic.fsync_tree(_folders(tmp_path, 3))
    assert len(synced) == 3 * 2 + 3


def test_a_failed_write_back_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(_fd: int) -> int:
        import ctypes

        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(atomic, "_syncfs_call", lambda: failing)
    with pytest.raises(OSError, match="Input/output error") as info:
        atomic.fsync_tree(_folders(tmp_path, 1))
    assert info.value.errno == errno.EIO


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="syncfs is Linux's")
def test_the_real_syncfs_is_found_and_succeeds(tmp_path: Path) -> None:
    assert atomic._syncfs_call() is not None
    atomic.fsync_tree(_folders(tmp_path, 2))
