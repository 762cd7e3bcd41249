"""The segmentation job as the simulation child receives it, checked once."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simengine.errors import InvalidConfig
from simengine.imports.limits import ImportLimits

METHODS = ("links", "connected_components", "mesh_groups", "convex_decomposition")
FORMATS = frozenset({"urdf", "usd", "mesh"})
MAX_DENSITY = 100_000.0
MAX_HULLS = 256


@dataclass(frozen=True, slots=True)
class Decomposition:
    """CoACD's settings: concavity threshold, hulls per part (None: no limit), seed."""

    threshold: float = 0.05
    max_hulls: int | None = None
    seed: int = 0


@dataclass(frozen=True, slots=True)
class SegmentJob:
    """A validated job; `asset_dir` and `out_dir` are resolved server paths, never shown."""

    asset_dir: Path
    main_file: str
    format: str
    source_kind: str
    method: str
    density: float
    max_parts: int
    decomposition: Decomposition
    out_dir: Path
    max_triangles: int


def parse_job(job: dict[str, Any]) -> SegmentJob:
    """Check the job dict's shape (see `simengine.api.segment_asset`).

    Raises:
        InvalidConfig: a field is missing or wrong; these come from the caller.
    """
    asset_dir, out_dir = _folder(job, "asset_dir"), _folder(job, "out_dir")
    with os.scandir(out_dir) as entries:
        if next(entries, None) is not None:
            raise InvalidConfig("out_dir", "must be an existing, empty folder")
    main_file = job.get("main_file")
    if not isinstance(main_file, str) or not main_file:
        raise InvalidConfig("main_file", "must be the canonical URDF's relative path")
    fmt, method = job.get("format"), job.get("method")
    if fmt not in FORMATS:
        raise InvalidConfig("format", f"must be one of {sorted(FORMATS)}")
    if method not in METHODS:
        raise InvalidConfig("method", f"must be one of {list(METHODS)}")
    density = _number(job.get("density_kg_m3", 1000.0), "density_kg_m3", 0.0, MAX_DENSITY)
    max_parts = _integer(job.get("max_parts", 64), "max_parts", 1)
    limits = job.get("limits") or {}
    if not isinstance(limits, dict):
        raise InvalidConfig("limits", "must be an object")
    default = ImportLimits().max_triangles
    return SegmentJob(
        asset_dir=asset_dir,
        main_file=main_file,
        format=str(fmt),
        source_kind=str(job.get("source_kind") or ""),
        method=str(method),
        density=density,
        max_parts=max_parts,
        decomposition=_decomposition(job.get("decomposition")),
        out_dir=out_dir,
        max_triangles=_integer(limits.get("max_triangles", default), "limits.max_triangles", 1),
    )


def _decomposition(raw: object) -> Decomposition:
    if raw is None:
        return Decomposition()
    if not isinstance(raw, dict):
        raise InvalidConfig("decomposition", "must be an object")
    threshold = _number(raw.get("threshold", 0.05), "decomposition.threshold", 0.0, 1.0)
    max_hulls = raw.get("max_hulls")
    if max_hulls is not None:
        max_hulls = _integer(max_hulls, "decomposition.max_hulls", 1)
        if max_hulls > MAX_HULLS:
            raise InvalidConfig("decomposition.max_hulls", f"must be at most {MAX_HULLS}")
    seed = _integer(raw.get("seed", 0), "decomposition.seed", 0)
    return Decomposition(threshold=threshold, max_hulls=max_hulls, seed=seed)


def _folder(job: dict[str, Any], key: str) -> Path:
    value = job.get(key)
    if not isinstance(value, str | os.PathLike) or not Path(value).is_absolute():
        raise InvalidConfig(key, "must be an absolute path")
    if not Path(value).is_dir():
        raise InvalidConfig(key, "must be an existing folder")
    return Path(value).resolve()


def _number(value: object, field: str, low: float, high: float) -> float:
    """A finite number in (low, high]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and low < value <= high)
    ):
        raise InvalidConfig(field, f"must be a number in ({low:g}, {high:g}]")
    return float(value)


def _integer(value: object, field: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidConfig(field, f"must be an integer >= {low}")
    return value
