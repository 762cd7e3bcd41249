"""The URDF check of server-side robots (examples/), done once per unchanged set of files.

A batch's children, and run after run of a bench or a client, name the same example URDF;
parsing and checking it costs ~3 ms each time. A URDF that passed is remembered with the
identity (inode, type, size, mtime) of itself and of each mesh it names, and is checked
again as soon as any of them differs. What changes after the check is still only ever
loaded in an isolated simulation child.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from simengine.assets import check_urdf

Identity = tuple[int, int, int, int] | None

_passed: dict[Path, tuple[tuple[Path, ...], tuple[Identity, ...]]] = {}
_lock = threading.Lock()


def check_urdf_once(path: Path, *, root: Path) -> None:
    """`simengine.assets.check_urdf(path, root=root)`, skipped while its files are unchanged.

    Raises:
        AssetRejected, PackageTooLarge: as `check_urdf`.
    """
    with _lock:
        known = _passed.get(path)
    if known is not None and identities(known[0]) == known[1]:
        return
    summary = check_urdf(path, root=root)
    files = (summary.path, *(summary.path.parent / mesh for mesh in summary.mesh_files))
    with _lock:
        _passed[path] = (files, identities(files))


def identities(files: tuple[Path, ...]) -> tuple[Identity, ...]:
    """Each file's (inode, mode, size, mtime), None for one that is gone (links not followed)."""
    found: list[Identity] = []
    for file in files:
        try:
            st = os.lstat(file)
        except OSError:
            found.append(None)
            continue
        found.append((st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns))
    return tuple(found)
