"""The geometry of a USD link: meshes and primitives, as OBJ pieces or URDF shapes (pxr)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh
from pxr import UsdGeom

from simengine.assetbase import AssetRejected, PackageTooLarge, quoted
from simengine.imports.usdmath import Faces, Piece, urdf_number, urdf_numbers
from simengine.imports.usdphysics import Link, Units, in_metres
from simengine.types import FloatArray

_AXES = {
    "X": np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),  # maps +Z to +X
    "Y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # maps +Z to +Y
    "Z": np.eye(3),
}


@dataclass(slots=True)
class Budget:
    limit: int
    used: int = 0

    def spend(self, triangles: int, element: str) -> None:
        self.used += triangles
        if self.used > self.limit:
            raise PackageTooLarge(element, f"{self.used} triangles so far; limit {self.limit}")


def add_geometry(
    link: Link, prim: Any, world: FloatArray, units: Units, budget: Budget
) -> list[str]:
    """Add a Gprim to its link (`world`: its transform in the stage); return warnings."""
    path = str(prim.GetPath())
    if not np.all(np.isfinite(world)):
        raise AssetRejected(path, "its transform is not finite")
    local = link.adjust @ in_metres(np.linalg.inv(link.frame) @ world, units, scale=True)
    if prim.IsA(UsdGeom.Mesh):
        piece = _placed(local, *_mesh(UsdGeom.Mesh(prim), path, budget))
        if not len(piece[1]):
            return [f"mesh {quoted(path)} has no faces and was left out"]
        link.pieces.append(piece)
        link.solids.append(piece)
        return []
    primitive = _primitive(prim, path)
    if primitive is None:
        return [f"geometry {quoted(path)} ({prim.GetTypeName()}) is not converted"]
    kind, size, axis, solid = primitive
    piece = _placed(local, np.asarray(solid.vertices), np.asarray(solid.faces))
    link.solids.append(piece)
    shape = _urdf_shape(kind, size, local, axis)
    if shape is None:
        budget.spend(len(piece[1]), path)
        link.pieces.append(piece)
    else:
        link.shapes.append(shape)
    if kind == "capsule" and shape is not None:
        return [f"capsule {quoted(path)} is approximated by a cylinder"]
    return []


def _mesh(mesh: Any, path: str, budget: Budget) -> Piece:
    counts = _ints(mesh.GetFaceVertexCountsAttr().Get())
    indices = _ints(mesh.GetFaceVertexIndicesAttr().Get())
    raw = mesh.GetPointsAttr().Get()
    points = np.zeros((0, 3)) if raw is None else np.asarray(raw, dtype=np.float64)
    if np.any(counts < 3):
        raise AssetRejected(path, "a face has fewer than 3 vertices")
    if int(counts.sum()) != indices.size:
        raise AssetRejected(path, "faceVertexCounts does not add up to faceVertexIndices")
    budget.spend(int((counts - 2).sum()), path)
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= len(points)):
        raise AssetRejected(path, "a face vertex index is out of range")
    if not np.all(np.isfinite(points)):
        raise AssetRejected(path, "the points are not all finite numbers")
    faces = _fan(counts, indices)
    if mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded:
        faces = faces[:, ::-1]
    return points.reshape(-1, 3), faces


def _fan(counts: Faces, indices: Faces) -> Faces:
    """Each polygon as the fan of triangles from its first vertex."""
    per_face = counts - 2
    face_of = np.repeat(np.arange(counts.size), per_face)
    start = (np.cumsum(counts) - counts)[face_of]
    step = np.arange(int(per_face.sum())) - (np.cumsum(per_face) - per_face)[face_of] + 1
    return np.stack(
        [indices[start], indices[start + step], indices[start + step + 1]], axis=1
    ).astype(np.int64)


def _primitive(prim: Any, path: str) -> tuple[str, dict[str, float], str, Any] | None:
    """The primitive's kind, sizes (stage units), axis and a triangulated copy."""
    if prim.IsA(UsdGeom.Cube):
        size = _positive(UsdGeom.Cube(prim).GetSizeAttr(), path)
        return "box", {"size": size}, "Z", trimesh.creation.box(extents=[size] * 3)
    if prim.IsA(UsdGeom.Sphere):
        radius = _positive(UsdGeom.Sphere(prim).GetRadiusAttr(), path)
        return "sphere", {"radius": radius}, "Z", trimesh.creation.icosphere(3, radius)
    for schema, kind in ((UsdGeom.Cylinder, "cylinder"), (UsdGeom.Capsule, "capsule")):
        if prim.IsA(schema):
            api = schema(prim)
            radius = _positive(api.GetRadiusAttr(), path)
            height = _positive(api.GetHeightAttr(), path)
            axis = str(api.GetAxisAttr().Get())
            if kind == "cylinder":
                solid = trimesh.creation.cylinder(radius=radius, height=height, sections=32)
            else:
                solid = trimesh.creation.capsule(height=height, radius=radius)
            return kind, {"radius": radius, "height": height}, axis, _along(solid, axis)
    if prim.IsA(UsdGeom.Cone):
        api = UsdGeom.Cone(prim)
        radius, height = _positive(api.GetRadiusAttr(), path), _positive(api.GetHeightAttr(), path)
        solid = trimesh.creation.cone(radius=radius, height=height, sections=32)
        solid.apply_translation([0.0, 0.0, -height / 2])
        axis = str(api.GetAxisAttr().Get())
        return "cone", {}, axis, _along(solid, axis)
    return None


def _along(solid: Any, axis: str) -> Any:
    turn = np.eye(4)
    turn[:3, :3] = _AXES.get(axis, np.eye(3))
    return solid.apply_transform(turn)


def _urdf_shape(
    kind: str, size: dict[str, float], local: FloatArray, axis: str
) -> tuple[str, dict[str, str], FloatArray] | None:
    """A URDF box, sphere or cylinder when the transform keeps the shape one (else None)."""
    if kind == "cone":
        return None
    turn = np.eye(4)
    turn[:3, :3] = _AXES.get(axis, np.eye(3))
    placed = local @ turn
    linear = placed[:3, :3]
    norms = np.linalg.norm(linear, axis=0)
    scale = float(norms.max())
    if not scale > 0 or not np.allclose(
        linear.T @ linear, np.diag(norms**2), rtol=0, atol=1e-9 * scale**2
    ):
        return None  # sheared
    origin = np.eye(4)
    origin[:3, :3] = linear / norms
    if np.linalg.det(origin[:3, :3]) < 0:
        origin[:3, 0] *= -1  # mirrored: these shapes are symmetric
    origin[:3, 3] = placed[:3, 3]
    same = math.isclose(norms[0], norms[1], rel_tol=1e-9)
    if kind == "box":
        return "box", {"size": urdf_numbers(size["size"] * norms)}, origin
    if kind == "sphere" and same and math.isclose(norms[1], norms[2], rel_tol=1e-9):
        return "sphere", {"radius": urdf_number(size["radius"] * norms[0])}, origin
    if kind in ("cylinder", "capsule") and same:
        length = size["height"] + (2 * size["radius"] if kind == "capsule" else 0.0)
        return (
            "cylinder",
            {
                "radius": urdf_number(size["radius"] * norms[0]),
                "length": urdf_number(length * norms[2]),
            },
            origin,
        )
    return None


def _placed(transform: FloatArray, vertices: FloatArray, faces: Faces) -> Piece:
    """Vertices moved by `transform`; a mirroring transform keeps faces facing outward."""
    moved = vertices.reshape(-1, 3) @ transform[:3, :3].T + transform[:3, 3]
    if np.linalg.det(transform[:3, :3]) < 0:
        faces = faces[:, ::-1]
    return moved, np.ascontiguousarray(faces, dtype=np.int64)


def _ints(value: Any) -> Faces:
    return np.zeros(0, dtype=np.int64) if value is None else np.asarray(value, dtype=np.int64)


def _positive(attribute: Any, element: str) -> float:
    value = float(attribute.Get())
    if not (math.isfinite(value) and value > 0):
        raise AssetRejected(element, f"{attribute.GetName()} must be a positive number")
    return value
