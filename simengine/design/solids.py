"""Volume, mass, centre of mass and inertia (about that centre, asset axes) of part bodies.

A closed mesh gives them exactly. An open one has no inside, so its convex hull stands in.
A body enclosing no volume gets none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from simengine.design.hulls import convex_hull
from simengine.design.meshes import Mesh
from simengine.types import FloatArray

# A volume this small relative to the mesh's extent cubed is a flat sheet or a line.
_FLAT = 1e-9


@dataclass(frozen=True, slots=True)
class Solid:
    """A rigid body: m^3, kg, m and kg m^2 (the tensor about `centroid`)."""

    volume: float
    mass: float
    centroid: FloatArray
    tensor: FloatArray

    @classmethod
    def empty(cls, at: FloatArray) -> Solid:
        """No volume and no mass, placed at `at`."""
        return cls(0.0, 0.0, np.asarray(at, dtype=np.float64), np.zeros((3, 3)))


def is_watertight(mesh: Mesh) -> bool:
    """Every edge shared by exactly two faces, wound consistently."""
    body = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=False)
    return bool(body.is_watertight and body.is_winding_consistent)


def closed_solid(mesh: Mesh, density: float) -> Solid | None:
    """The exact body of a closed mesh (wound either way); None if it encloses no volume."""
    triangles = mesh.vertices[mesh.faces]
    solid = _triangles_solid(triangles, density)
    if solid is not None and solid.volume < 0:
        solid = _triangles_solid(triangles[:, ::-1], density)
    return solid if solid is not None and solid.volume > _tiny(mesh.vertices) else None


def hull_solid(points: FloatArray, density: float) -> Solid | None:
    """The body of the convex hull of `points`; None if they span no volume."""
    hull = convex_hull(points)
    if hull is None:
        return None
    solid = _triangles_solid(hull.vertices[hull.faces], density)
    return solid if solid is not None and solid.volume > _tiny(points) else None


def rotated(tensor: FloatArray, rotation: FloatArray) -> FloatArray:
    """A tensor given along rotated axes, along the asset's: R I R^T, made symmetric."""
    turned = rotation @ tensor @ rotation.T
    return np.asarray((turned + turned.T) / 2, dtype=np.float64)


def signed_volume(mesh: Mesh) -> float:
    """The volume a closed mesh encloses: negative when its faces are wound inwards."""
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->", a, np.cross(b, c))) / 6.0


def convex_volume(mesh: Mesh) -> float:
    """The volume enclosed by a closed mesh wound either way (a hull's, for instance)."""
    return abs(signed_volume(mesh))


def _triangles_solid(triangles: FloatArray, density: float) -> Solid | None:
    # A body of no volume divides by zero inside trimesh; the caller checks the volume.
    with np.errstate(divide="ignore", invalid="ignore"):
        props = trimesh.triangles.mass_properties(triangles, density=density)
    centroid = np.asarray(props.center_mass, dtype=np.float64)
    tensor = np.asarray(props.inertia, dtype=np.float64)
    if not (np.isfinite(centroid).all() and np.isfinite(tensor).all()):
        return None
    return Solid(float(props.volume), float(props.mass), centroid, (tensor + tensor.T) / 2)


def _tiny(points: FloatArray) -> float:
    extent = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
    return _FLAT * extent**3
