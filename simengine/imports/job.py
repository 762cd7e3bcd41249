"""The import job as the simulation child receives it, checked once."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simengine.errors import InvalidConfig
from simengine.imports.limits import ImportLimits
from simengine.imports.names import robot_name, stem_of

FORMATS = frozenset({"urdf", "usd", "mesh"})
MAX_CHECK_STEPS = 100_000
MAX_DENSITY = 100_000.0


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A validated import job; `source` and `work_dir` are server paths, never shown."""

    source: Path
    filename: str | None
    work_dir: Path
    format: str | None
    main_file: str | None
    density_kg_m3: float
    name: str
    limits: ImportLimits
    check_steps: int


def parse_job(job: dict[str, Any]) -> ImportJob:
    """Check the job dict's shape (see `simengine.api.import_asset`).

    Raises:
        InvalidConfig: a field is missing or wrong; these come from the caller, not the upload.
        AssetRejected: `limits` holds an unknown key or a bad value.
    """
    source, work_dir = _absolute(job, "source"), _absolute(job, "work_dir")
    if not source.is_file():
        raise InvalidConfig("source", "the uploaded file does not exist")
    if not work_dir.is_dir() or not _is_empty(work_dir):
        raise InvalidConfig("work_dir", "must be an existing, empty folder")
    fmt = job.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise InvalidConfig("format", f"must be null or one of {sorted(FORMATS)}")
    main_file = job.get("main_file")
    if main_file is not None and not isinstance(main_file, str):
        raise InvalidConfig("main_file", "must be null or a relative path")
    density = job.get("density_kg_m3", 1000.0)
    if (
        isinstance(density, bool)
        or not isinstance(density, int | float)
        or not (math.isfinite(density) and 0 < density <= MAX_DENSITY)
    ):
        raise InvalidConfig("density_kg_m3", f"must be a number in (0, {MAX_DENSITY:g}]")
    steps = job.get("check_steps", 240)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_CHECK_STEPS:
        raise InvalidConfig("check_steps", f"must be an integer in 0..{MAX_CHECK_STEPS}")
    fallback = robot_name(stem_of(job.get("filename")), fallback="robot")
    return ImportJob(
        source=source,
        filename=filename if isinstance(filename := job.get("filename"), str) else None,
        work_dir=work_dir,
        format=fmt,
        main_file=main_file,
        density_kg_m3=float(density),
        name=robot_name(job.get("name"), fallback=fallback),
        limits=ImportLimits.from_dict(job.get("limits")),
        check_steps=steps,
    )


def _absolute(job: dict[str, Any], key: str) -> Path:
    value = job.get(key)
    if not isinstance(value, str | os.PathLike) or not Path(value).is_absolute():
        raise InvalidConfig(key, "must be an absolute path")
    return Path(value)


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None
