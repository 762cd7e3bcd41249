"""The files of an asset as this process handles them: the inventory of what the import
child wrote (checked, hashed, made durable) and the zip of the canonical files."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from handlers.errors import InternalError

CHUNK = 1 << 20


def inventory(work: Path) -> list[dict[str, Any]]:
    """Every file the child wrote, with its size and SHA-256, sorted by path, each made
    durable. Anything but plain folders and regular files with one link (a symlink, even
    to a folder; a hard link to a file elsewhere; a FIFO) is a broken promise of the child:
    nothing is stored."""
    files = []
    for folder, dirs, names in os.walk(work, followlinks=False):
        dirs.sort()
        for name in dirs:
            if not stat.S_ISDIR(os.lstat(Path(folder) / name).st_mode):
                raise InternalError.unexpected()
        for name in sorted(names):
            path = Path(folder) / name
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise InternalError.unexpected()
            digest = hashlib.sha256()
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                os.fsync(handle.fileno())
            relative = path.relative_to(work).as_posix()
            files.append(
                {"path": relative, "size_bytes": info.st_size, "sha256": digest.hexdigest()}
            )
    return files


def write_package(root: Path, files: Iterable[dict[str, Any]], path: Path) -> None:
    """Zip `files` (AssetFile entries, relative to `root`) into `path`: written under a
    name of its own (other processes may build it too), made durable, renamed into place."""
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for entry in files:
                    archive.write(root / entry["path"], entry["path"])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
