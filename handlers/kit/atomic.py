"""Atomic, durable file operations: a reader sees the old content or the new, never half.

A file is written to a temporary name in its own folder, flushed and fsynced, then
`os.replace`d over the target, and the folder is fsynced so the rename itself survives a
power cut. Temporary names start with `TMP_PREFIX`, which start-up cleanup looks for.
"""

import ctypes
import errno
import functools
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
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
    fd = _create_with(path, data)
    try:
        return _fsync_signature(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, *, durable: bool = True) -> FileSignature:
    """Create `path` (which must not exist) holding `data`; fsynced unless not `durable`."""
    if durable:
        return write_file_durably(path, data)
    fd = _create_with(path, data)
    try:
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


def write_atomic_many_then(
    folder: Path, files: Mapping[str, bytes], name: str, data: bytes, *, durable: bool = True
) -> FileSignature:
    """Replace `files` of `folder`, then `name` with `data`, atomically and durably
    (`durable=False`: atomically only, no fsync; the caller makes them durable later with
    `fsync_tree`: until then a crash of the process still leaves each file old or new).

    Every file is written under a temporary name, their fsyncs side by side; `files` are
    renamed into place and the folder fsynced, then `name` (e.g. a document saying the
    others are complete) likewise, so it never survives a crash without them. A crash
    leaves each file old or new (never partial), and `.tmp-` leftovers.

    Returns:
        The signature of `name` as written.
    """
    if name in files:
        raise ValueError(f"{name!r} is written last, not among the files")
    staged = _stage(folder, {**files, name: data}, durable=durable)
    last = [staged.pop()]
    try:
        _rename(staged)
        if durable:
            fsync_dir(folder)
    except BaseException:
        _discard(last)
        raise
    _rename(last)
    if durable:
        fsync_dir(folder)
    return last[0].signature


def fsync_tree(folders: list[Path]) -> None:
    """Make every file of `folders` and the folders themselves durable: a group commit of
    files written with `durable=False`.

    On Linux, one `syncfs` per filesystem: it writes back the whole filesystem and waits
    (measured here: 9 run folders 4.7 ms against 11.3 ms for their fsyncs side by side,
    300 folders 56 ms against 347 ms). It also flushes whatever else is dirty there, which
    a busy disk pays for; elsewhere, or if `syncfs` is missing, every file is fsynced,
    side by side (one journal commit can cover many).

    Raises:
        OSError: a write-back failed (the files may not be durable).
    """
    devices = {os.stat(folder).st_dev: folder for folder in folders}
    if all(_syncfs(folder) for folder in devices.values()):
        return
    _fsync_contents(folders)


def _syncfs(folder: Path) -> bool:
    """`syncfs` the filesystem holding `folder`; False where the call does not exist."""
    call = _syncfs_call()
    if call is None:
        return False
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if call(fd) != 0:
            error = ctypes.get_errno()
            if error == errno.ENOSYS:
                return False
            raise OSError(error, os.strerror(error), str(folder))
    finally:
        os.close(fd)
    return True


@functools.cache
def _syncfs_call() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def _fsync_contents(folders: list[Path]) -> None:
    """fsync every file of `folders` and the folders, side by side."""
    paths: list[Path] = []
    for folder in folders:
        with os.scandir(folder) as entries:
            paths += [Path(e.path) for e in entries if e.is_file(follow_symlinks=False)]
        paths.append(folder)
    fsync_paths(paths)


def fsync_paths(paths: list[Path]) -> None:
    """fsync these files or folders, side by side. Only these: unlike `syncfs`, nothing
    else dirty on the filesystem is waited for (a single run must not wait for a batch)."""
    fds: list[int] = []
    try:
        for path in paths:
            fds.append(os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)))
        syncs = [_fsync_pool().submit(os.fsync, fd) for fd in fds]
        wait(syncs)
        for sync in syncs:
            sync.result()
    finally:
        for fd in fds:
            os.close(fd)


class _Staged(NamedTuple):
    """A file written and fsynced under its temporary name, not yet renamed."""

    temporary: Path
    path: Path
    signature: FileSignature


_FSYNC_THREADS = 8
_FSYNC_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _stage(folder: Path, files: Mapping[str, bytes], *, durable: bool = True) -> list[_Staged]:
    """Write each of `files` under a temporary name in `folder` and fsync them side by side
    (one journal commit can then cover several; none if not `durable`); on failure none is
    left behind."""
    names: list[tuple[Path, Path]] = []
    fds: list[int] = []
    try:
        for name, data in files.items():
            names.append((folder / temp_name(name), folder / name))
            fds.append(_create_with(names[-1][0], data))
        if not durable:
            return [
                _Staged(*pair, FileSignature.of(os.fstat(fd)))
                for pair, fd in zip(names, fds, strict=True)
            ]
        syncs = [_fsync_pool().submit(_fsync_signature, fd) for fd in fds]
        wait(syncs)  # every fd stays open until its fsync is done
        return [_Staged(*pair, sync.result()) for pair, sync in zip(names, syncs, strict=True)]
    except BaseException:
        for tmp, _ in names:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for fd in fds:
            os.close(fd)


def _rename(staged: list[_Staged]) -> None:
    """Move staged files into place (the caller fsyncs the folder); on failure the
    temporaries not yet moved are removed."""
    try:
        for file in staged:
            os.replace(file.temporary, file.path)
    except BaseException:
        _discard(staged)
        raise


def _discard(staged: list[_Staged]) -> None:
    for file in staged:
        file.temporary.unlink(missing_ok=True)


def _create_with(path: Path, data: bytes) -> int:
    """Create `path` (which must not exist) holding `data`; its open fd, not yet fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_signature(fd: int) -> FileSignature:
    os.fsync(fd)
    return FileSignature.of(os.fstat(fd))


def _fsync_pool() -> ThreadPoolExecutor:
    """This process's fsync threads (a forked worker makes its own: threads do not survive
    a fork)."""
    global _FSYNC_POOL
    if _FSYNC_POOL is None or _FSYNC_POOL[0] != os.getpid():
        _FSYNC_POOL = (os.getpid(), ThreadPoolExecutor(_FSYNC_THREADS, "qers-fsync"))
    return _FSYNC_POOL[1]
