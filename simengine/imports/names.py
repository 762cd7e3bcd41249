"""Names chosen for canonical files and robots: safe for the RelativePath contract."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_]+")
_UNSAFE_SEGMENT = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME = 64


def robot_name(raw: object, *, fallback: str = "robot") -> str:
    """`raw` reduced to letters, digits and `_` (at most 64), or `fallback` if nothing is left."""
    text = _UNSAFE_NAME.sub("_", raw if isinstance(raw, str) else "").strip("_")
    return text[:_MAX_NAME] or fallback


def stem_of(filename: object) -> str:
    """The client's file name without folders and extensions ('' when there is none)."""
    if not isinstance(filename, str):
        return ""
    base = PurePosixPath(filename.replace("\\", "/")).name
    return base.split(".", 1)[0]


def safe_file_name(name: str, *, suffix: str) -> str:
    """A file name of safe characters ending in `suffix` (lowercase, with its dot)."""
    stem = _UNSAFE_SEGMENT.sub("_", name.rsplit(".", 1)[0] if "." in name else name)
    return (stem.strip("_")[:_MAX_NAME] or "file") + suffix


class CanonicalNames:
    """Hands out distinct file names inside one folder (compared case-insensitively)."""

    def __init__(self, *taken: str) -> None:
        self._taken = {name.casefold() for name in taken}

    def allocate(self, folder: str, name: str, *, suffix: str) -> str:
        """A new `folder/name<suffix>` path, numbered `_2`, `_3`... if already handed out."""
        base = safe_file_name(name, suffix=suffix)[: -len(suffix)]
        candidate, number = f"{folder}/{base}{suffix}", 1
        while candidate.casefold() in self._taken:
            number += 1
            candidate = f"{folder}/{base}_{number}{suffix}"
        self._taken.add(candidate.casefold())
        return candidate
