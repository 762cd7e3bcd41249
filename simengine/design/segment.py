"""Segmentation: read the asset, count its parts, then build and write them one by one.

Runs only in an isolated child (it loads trimesh, scipy and CoACD). Parts are counted
before anything is written or decomposed, so a request for too few parts costs little.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simengine.design.linkparts import link_pieces
from simengine.design.meshparts import component_pieces, group_pieces, hull_pieces, one_mesh
from simengine.design.parts import PartFiles, Piece
from simengine.design.segjob import SegmentJob, parse_job
from simengine.design.source import read_asset
from simengine.errors import SimError
from simengine.imports.errors import ImportStopped
from simengine.types import JSONDict


class SegmentStopped(ImportStopped):
    """`should_stop()` returned True between two parts; nothing usable was produced."""

    def __init__(self, stage: str) -> None:
        SimError.__init__(self, f"the segmentation was stopped before {stage}")
        self.stage = stage


def segment(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Split the asset `job` names into parts; see `simengine.api.segment_asset`."""
    parsed = parse_job(job)
    pieces = _pieces(parsed)
    if len(pieces) > parsed.max_parts:
        return {"parts": [], "warnings": [], "found": len(pieces)}
    files = PartFiles(parsed.out_dir)
    parts: list[JSONDict] = []
    warnings: list[str] = []
    for index, piece in enumerate(pieces):
        if should_stop is not None and should_stop():
            raise SegmentStopped(f"part {index + 1} of {len(pieces)}")
        name = files.unique_name(piece.name)
        built = piece.build(name)
        parts.append(files.write(index, name, built))
        warnings += built.warnings
        if progress is not None:
            progress(index + 1, len(pieces))
    return {"parts": parts, "warnings": warnings, "found": len(pieces)}


def _pieces(job: SegmentJob) -> list[Piece]:
    asset = read_asset(job)
    if job.method == "links":
        return link_pieces(asset, density=job.density)
    one = one_mesh(asset, job.method)
    if job.method == "mesh_groups":
        return group_pieces(one, density=job.density)
    if job.method == "convex_decomposition":
        return hull_pieces(one.placed, density=job.density, settings=job.decomposition)
    return component_pieces(one.placed, density=job.density)
