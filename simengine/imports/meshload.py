"""Meshes read with trimesh and checked before pybullet (or a mass computation) sees them.

Always `process=False` (and, for OBJ, `maintain_order=True`): trimesh would otherwise merge
the vertices of bodies that touch and reorder them, and the volume and watertightness
measured would no longer be those of the file.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import trimesh

from simengine.assetbase import AssetRejected, PackageTooLarge
from simengine.imports.limits import ImportLimits
from simengine.meshcheck import STL_HEADER, binary_stl_count
from simengine.types import FloatArray

MESH_KINDS = frozenset({"obj", "stl", "ply", "glb", "dae"})
# Loader options per kind: materials are never needed (and their textures need PIL).
_OPTIONS: dict[str, dict[str, Any]] = {
    "obj": {"skip_materials": True, "maintain_order": True},
    "ply": {"skip_materials": True},
    "glb": {"skip_materials": True},
    "stl": {},
    "dae": {},
}


@dataclass(frozen=True, slots=True)
class LoadedMesh:
    """A checked mesh: finite vertices, faces in range, within the triangle limit."""

    mesh: trimesh.Trimesh

    @property
    def vertices(self) -> FloatArray:
        """The vertices, (n, 3), in the file's units (metres by URDF convention)."""
        return np.asarray(self.mesh.vertices, dtype=np.float64)

    @property
    def triangles(self) -> int:
        """How many triangles."""
        return len(self.mesh.faces)

    @property
    def watertight(self) -> bool:
        """Whether it is closed, so that its volume (and inertia) is exact."""
        return bool(self.mesh.is_watertight)


def load_mesh(path: Path, *, kind: str, element: str, limits: ImportLimits) -> LoadedMesh:
    """Read the mesh file `path` of `kind` (a key of `MESH_KINDS`) and check it.

    Raises:
        AssetRejected: trimesh cannot read it, or it has no triangles, non-finite vertices
            or face indices out of range.
        PackageTooLarge: more than `limits.max_triangles` triangles.
    """
    if kind == "dae" and importlib.util.find_spec("collada") is None:
        raise AssetRejected(
            element,
            "COLLADA (.dae) meshes cannot be read on this server (pycollada is not "
            "installed); export the mesh as OBJ or STL",
        )
    if kind == "stl":
        _check_stl_count(path, element, limits)
    try:
        with warnings.catch_warnings():
            # Third-party noise about untrusted input; what matters is checked below.
            warnings.simplefilter("ignore")
            loaded = trimesh.load(str(path), file_type=kind, process=False, **_OPTIONS[kind])
            vertices, faces = _flatten(loaded)
    except MemoryError:
        raise
    except Exception as error:  # trimesh raises anything on hostile input
        reason = f"the {kind.upper()} file could not be read ({type(error).__name__})"
        raise AssetRejected(element, reason) from None
    if len(faces) == 0:
        raise AssetRejected(element, "the mesh has no triangles")
    if len(faces) > limits.max_triangles:
        raise PackageTooLarge(element, f"{len(faces)} triangles; limit {limits.max_triangles}")
    if not np.isfinite(vertices).all():
        raise AssetRejected(element, "the mesh has non-finite vertex coordinates")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise AssetRejected(element, "a face refers to a vertex that does not exist")
    return LoadedMesh(trimesh.Trimesh(vertices=vertices, faces=faces, process=False))


def is_binary_stl(path: Path) -> bool:
    """Whether `path` is a binary STL (its header's count matches its size)."""
    with path.open("rb") as handle:
        head = handle.read(STL_HEADER)
    return binary_stl_count(head, path.stat().st_size) is not None


def _check_stl_count(path: Path, element: str, limits: ImportLimits) -> None:
    with path.open("rb") as handle:
        head = handle.read(STL_HEADER)
    count = binary_stl_count(head, path.stat().st_size)
    if count is not None and count > limits.max_triangles:
        raise PackageTooLarge(element, f"{count} triangles; limit {limits.max_triangles}")


def _flatten(loaded: Any) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Vertices and faces of a mesh, or of every mesh of a scene placed by its transforms
    (stacked, never merged)."""
    if isinstance(loaded, trimesh.Trimesh):
        return _arrays(loaded.vertices, loaded.faces)
    vertices: list[FloatArray] = []
    faces: list[npt.NDArray[np.int64]] = []
    offset = 0
    scene = loaded if isinstance(loaded, trimesh.Scene) else trimesh.Scene()
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geometry = scene.geometry[name]
        if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
            continue
        points, indices = _arrays(geometry.vertices, geometry.faces)
        vertices.append(trimesh.transform_points(points, transform))
        faces.append(indices + offset)
        offset += len(points)
    if not faces:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.vstack(vertices), np.vstack(faces)


def _arrays(vertices: Any, faces: Any) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    points = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    indices = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    return points, indices
