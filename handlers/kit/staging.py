"""Staging folders that interrupted work left behind, removed once nothing can own them."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def remove_stale(folder: Path, *, older_than_s: float) -> list[str]:
    """Remove the entries of `folder` untouched for longer than `older_than_s` (longer than
    any work may run, so that another process sharing RUNS_DIR keeps its work in progress).
    The names removed; none when `folder` does not exist (no RUNS_DIR yet, or a broken one)."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    cutoff = time.time() - older_than_s
    removed = []
    for entry in entries:
        try:
            stale = entry.stat(follow_symlinks=False).st_mtime < cutoff
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed
