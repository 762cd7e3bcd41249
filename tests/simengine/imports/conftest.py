"""Shared fixtures: a fresh work folder, and a runner that checks no path leaks out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simengine import api
from simengine.assetbase import AssetRejected

Importer = Callable[..., dict[str, Any]]


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def run_import(work_dir: Path) -> Importer:
    """Import a file into `work_dir` with a short trial; extra keys go into the job."""

    def run(source: Path, **job: Any) -> dict[str, Any]:
        return api.import_asset(
            {"source": str(source), "work_dir": str(work_dir), "check_steps": 24, **job}
        )

    return run


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def assert_clean_rejection(error: AssetRejected, tmp_path: Path) -> None:
    """No server path in the message, and nothing left outside the work folder."""
    for text in (str(error), error.reason, error.element):
        assert str(tmp_path) not in text
        assert "/tmp" not in text  # noqa: S108 - a path that must not appear
    outside = {f for f in files_under(tmp_path) if not f.startswith("work/")}
    assert all(not Path(f).name.startswith("evil") for f in files_under(tmp_path))
    assert outside <= {"upload", "upload.zip", "upload.bin"}
