"""Reading files named by untrusted assets without following them out of their folder.

pybullet follows absolute paths, `..` and symlinks, and blocks forever opening a FIFO, so
every file an asset names is checked with `lstat` (never opened) before anything reads it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from simengine.assetbase import AssetRejected, PackageTooLarge


def check_reference(ref: str, *, element: str, what: str) -> PurePosixPath:
    """Return `ref` as a relative path with no `..`, scheme or backslash, or reject it."""
    if not ref or ref != ref.strip() or "\x00" in ref:
        raise AssetRejected(element, f"{what} path is empty or has surrounding whitespace")
    if "://" in ref or ref.startswith("file:"):
        # package:// and file:// make pybullet search its own paths; only plain paths are safe.
        raise AssetRejected(element, f"{what} path has a URL scheme; use a relative path")
    if "\\" in ref:
        raise AssetRejected(element, f"{what} path contains a backslash; use '/'")
    pure = PurePosixPath(ref)
    if pure.is_absolute():
        raise AssetRejected(element, f"{what} path is absolute; use a path relative to the file")
    if any(part == ".." for part in pure.parts):
        raise AssetRejected(element, f"{what} path contains '..'; it must stay inside its folder")
    return pure


def locate_regular(
    folder: Path, ref: PurePosixPath, *, element: str, what: str, max_bytes: int
) -> Path | None:
    """Find `ref` inside the resolved `folder` as a regular file of at most `max_bytes`.

    Returns the resolved path, or None when nothing exists there. Rejects symlinks (the
    last component), anything that resolves outside `folder`, FIFOs, devices, sockets and
    folders, and files over the limit; none of these is ever opened.
    """
    candidate = folder.joinpath(*ref.parts)
    try:
        info = os.lstat(candidate)
    except FileNotFoundError:
        return None
    except OSError:
        raise AssetRejected(element, f"{what} file cannot be examined") from None
    if stat.S_ISLNK(info.st_mode):
        raise AssetRejected(element, f"{what} file is a symbolic link; links are not accepted")
    if not stat.S_ISREG(info.st_mode):
        raise AssetRejected(element, f"{what} file is not a regular file ({_kind(info.st_mode)})")
    resolved = candidate.resolve()
    if not resolved.is_relative_to(folder):
        raise AssetRejected(element, f"{what} file resolves outside its folder")
    if info.st_size > max_bytes:
        raise PackageTooLarge(element, f"{what} file is {info.st_size} bytes; limit {max_bytes}")
    return resolved


def read_regular(path: Path, *, element: str, what: str, max_bytes: int) -> bytes:
    """Read a file already checked by `locate_regular`, without blocking if it was swapped.

    O_NOFOLLOW and O_NONBLOCK keep a file replaced by a link or FIFO since the check from
    being followed or blocking; fstat then checks type and size again on what was opened.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        raise AssetRejected(element, f"{what} file cannot be opened") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AssetRejected(element, f"{what} file is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PackageTooLarge(element, f"{what} file is larger than the limit of {max_bytes} bytes")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"
