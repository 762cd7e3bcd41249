"""Array helpers shared by the USD converter's modules (numpy only, no pxr)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from simengine.assetbase import AssetRejected
from simengine.types import FloatArray

Faces = npt.NDArray[np.int64]
Piece = tuple[FloatArray, Faces]


def column_matrix(gf_matrix: Any) -> FloatArray:
    """A Gf.Matrix4d (row vectors, translation in the last row) as a column-vector 4x4."""
    return np.array(gf_matrix, dtype=np.float64).reshape(4, 4).T


def quaternion_rotation(quaternion: Any) -> FloatArray:
    """The rotation of a Gf quaternion (identity for the all-zero 'not authored' value)."""
    w, (x, y, z) = float(quaternion.GetReal()), quaternion.GetImaginary()
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if norm == 0:
        return np.eye(3)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def rigid_frame(matrix: FloatArray, *, element: str) -> FloatArray:
    """The rotation and translation of `matrix` without its scale (polar decomposition)."""
    if not np.all(np.isfinite(matrix)):
        raise AssetRejected(element, "its transform is not finite")
    left, _, right = np.linalg.svd(matrix[:3, :3])
    rotation = left @ right
    if np.linalg.det(rotation) < 0:
        raise AssetRejected(element, "a mirrored (negatively scaled) rigid body")
    frame = np.eye(4)
    frame[:3, :3], frame[:3, 3] = rotation, matrix[:3, 3]
    return frame


def pose_matrix(position: Any, orientation: Any) -> FloatArray:
    """The 4x4 transform of a position and a Gf quaternion."""
    pose = np.eye(4)
    pose[:3, :3] = quaternion_rotation(orientation)
    pose[:3, 3] = [float(value) for value in position]
    return pose


def merged_arrays(pieces: list[Piece]) -> Piece:
    """All pieces as one vertex array and one face array (indices shifted, nothing merged)."""
    offsets = np.cumsum([0] + [len(vertices) for vertices, _ in pieces[:-1]])
    vertices = np.concatenate([v for v, _ in pieces])
    faces = np.concatenate([f + offset for (_, f), offset in zip(pieces, offsets, strict=True)])
    return vertices, faces


def urdf_number(value: float) -> str:
    """A URDF number: the shortest exact repr, with values below 1e-12 written as 0."""
    value = float(value)
    return repr(0.0 if abs(value) < 1e-12 else value)


def urdf_numbers(values: Any) -> str:
    """Space-separated URDF numbers."""
    return " ".join(urdf_number(value) for value in values)
