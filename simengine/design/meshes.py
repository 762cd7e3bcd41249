"""Triangle meshes as plain arrays: placed, joined, cut into pieces and written as OBJ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simengine.types import FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Mesh:
    """Vertices (n, 3) in m and triangles (m, 3) of 0-based vertex indices."""

    vertices: FloatArray
    faces: IntArray

    @classmethod
    def of(cls, vertices: object, faces: object) -> Mesh:
        """A mesh from anything array-like, as float64 and int64 arrays."""
        points = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        return cls(points, np.asarray(faces, dtype=np.int64).reshape(-1, 3))

    def moved(self, transform: FloatArray) -> Mesh:
        """The mesh under a 4x4 rigid transform."""
        rotation, offset = transform[:3, :3], transform[:3, 3]
        return Mesh(self.vertices @ rotation.T + offset, self.faces)

    def subset(self, face_indices: IntArray) -> Mesh:
        """The given faces (in that order) with only the vertices they use, in file order."""
        faces = self.faces[face_indices]
        used, inverse = np.unique(faces, return_inverse=True)
        return Mesh(self.vertices[used], inverse.reshape(-1, 3).astype(np.int64))


def joined(meshes: Sequence[Mesh]) -> Mesh:
    """Meshes stacked into one, vertices never merged."""
    if not meshes:
        return Mesh.of(np.zeros((0, 3)), np.zeros((0, 3)))
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return Mesh.of(
        np.vstack([m.vertices for m in meshes]),
        np.vstack([m.faces + offset for m, offset in zip(meshes, offsets, strict=True)]),
    )


def write_obj(path: Path, mesh: Mesh) -> None:
    """An OBJ of only `v` and `f` lines, floats exact to 17 digits (the same mesh always
    gives the same bytes); never overwrites."""
    with path.open("x", encoding="ascii", newline="\n") as out:
        np.savetxt(out, mesh.vertices, fmt="v %.17g %.17g %.17g")
        np.savetxt(out, mesh.faces + 1, fmt="f %d %d %d")
