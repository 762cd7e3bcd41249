"""Atomic, durable file operations: a reader sees the old content or the new, never half.

A file is written to a temporary name in its own folder, flushed and fsynced, then
`os.replace`d over the target, and the folder is fsynced so the rename itself survives a
power cut. Temporary names start with `TMP_PREFIX`, which start-up cleanup looks for.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

TMP_PREFIX = ".tmp-"


class FileSignature(NamedTuple):
    """What changes whenever a file is atomically replaced (each replace is a new inode)."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, stat: os.stat_result) -> "FileSignature":
        """The signature of a `stat` result."""
        return cls(stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def encode(self) -> str:
        """A compact text form, for storing in the index."""
        return f"{self.inode}:{self.mtime_ns}:{self.size}"


def temp_name(name: str) -> str:
    """A unique temporary sibling name for `name`."""
    return f"{TMP_PREFIX}{name}-{secrets.token_hex(6)}"


def fsync_dir(path: Path) -> None:
    """Make the entries of folder `path` (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_durably(path: Path, data: bytes) -> FileSignature:
    """Create `path` (which must not exist), write `data`, fsync; no rename."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        return FileSignature.of(os.fstat(fd))
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> FileSignature:
    """Replace `path` with `data` atomically and durably.

    Returns:
        The signature of the file as written (taken before the rename, so a concurrent
        replace by another process cannot be mistaken for ours).
    """
    tmp = path.with_name(temp_name(path.name))
    try:
        signature = write_file_durably(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return signature


def write_atomic_many(folder: Path, files: Mapping[str, bytes]) -> None:
    """Replace several files of `folder` atomically and durably, with one folder fsync.

    Each file is written and fsynced under a temporary name, then renamed into place;
    a crash leaves every file either old or new (never partial), and `.tmp-` leftovers.
    """
    written: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            path = folder / name
            tmp = path.with_name(temp_name(name))
            written.append((tmp, path))
            write_file_durably(tmp, data)
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
