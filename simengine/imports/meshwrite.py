"""Canonical mesh files written from checked vertices and faces: OBJ text or binary STL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simengine.meshcheck import STL_RECORD
from simengine.types import FloatArray


def write_obj(
    path: Path,
    vertices: FloatArray,
    faces: npt.NDArray[np.int64],
    groups: Sequence[tuple[str, int]] = (),
) -> None:
    """Write a Wavefront OBJ of `v` and `f` lines (1-based indices); never overwrite.

    With `groups` (name, face count), a `g <name>` line precedes each group's faces, which
    must be consecutive in `faces`; names must be single lines (see `objgroups.clean_name`).
    """
    with path.open("x", encoding="utf-8", newline="\n") as out:
        out.write("# written by the QERS asset import\n")
        np.savetxt(out, vertices, fmt="v %.17g %.17g %.17g")
        if not groups:
            np.savetxt(out, faces + 1, fmt="f %d %d %d")
        start = 0
        for name, count in groups:
            out.write(f"g {name}\n")
            np.savetxt(out, faces[start : start + count] + 1, fmt="f %d %d %d")
            start += count


def write_stl(path: Path, vertices: FloatArray, faces: npt.NDArray[np.int64]) -> None:
    """Write a binary STL (what pybullet reads) with unit facet normals; never overwrite."""
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
    records = np.zeros(len(faces), dtype=STL_RECORD)
    records["normal"] = normals
    records["vertices"] = corners
    header = b"QERS asset import".ljust(80, b" ") + len(faces).to_bytes(4, "little")
    with path.open("xb") as out:
        out.write(header)
        out.write(records.tobytes())
