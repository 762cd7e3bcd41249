"""Mass, centre of mass and inertia of a mesh body of uniform density.

A closed mesh gives them exactly; an open one has no inside, so its convex hull stands in
for it (and the caller is told). A mesh enclosing no volume has no inertia at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from simengine.assetbase import AssetRejected
from simengine.types import FloatArray

# A volume this small relative to the mesh's extent cubed is a flat sheet or a line.
_FLAT = 1e-9


@dataclass(frozen=True, slots=True)
class MeshInertial:
    """Mass in kg, centre of mass in m and the inertia tensor about it in kg m^2."""

    mass: float
    center: tuple[float, float, float]
    tensor: FloatArray
    volume: float


def mesh_inertial(
    mesh: trimesh.Trimesh, *, density: float, element: str, name: str
) -> tuple[MeshInertial, list[str]]:
    """The inertial of `mesh` at `density` kg/m^3, and warnings about how it was found.

    Args:
        mesh: a checked mesh (see `meshload`).
        density: kg/m^3.
        element: how errors name the mesh.
        name: how warnings name the mesh (a name from the package, never a server path).

    Raises:
        AssetRejected: the mesh (or its hull) encloses no volume.
    """
    extent = float(np.max(mesh.extents))
    tiny = _FLAT * extent**3
    warnings: list[str] = []
    triangles = np.asarray(mesh.triangles, dtype=np.float64)
    # A body of no volume divides by zero on the way; it is rejected below.
    with np.errstate(divide="ignore", invalid="ignore"):
        if mesh.is_watertight:
            props = trimesh.triangles.mass_properties(triangles, density=density)
            if props.volume < -tiny:
                # Closed but with every face wound the other way: the inside is outside.
                props = trimesh.triangles.mass_properties(triangles[:, ::-1], density=density)
                warnings.append(f"mesh {name} has inward-facing triangles; its volume was negated")
        else:
            hull = _hull_triangles(mesh, element)
            props = trimesh.triangles.mass_properties(hull, density=density)
            warnings.append(
                f"mesh {name} is not watertight; its mass and inertia come from its convex "
                f"hull ({float(props.volume):.3g} m^3)"
            )
    if not extent > 0 or not float(props.volume) > tiny:
        raise AssetRejected(element, _no_volume())
    center = np.asarray(props.center_mass, dtype=np.float64)
    return (
        MeshInertial(
            mass=float(props.mass),
            center=(float(center[0]), float(center[1]), float(center[2])),
            tensor=np.asarray(props.inertia, dtype=np.float64),
            volume=float(props.volume),
        ),
        warnings,
    )


def _hull_triangles(mesh: trimesh.Trimesh, element: str) -> FloatArray:
    """The convex hull's triangles, each wound outwards.

    Built without trimesh's repair step, which needs networkx: a hull is convex, so a
    triangle faces outwards when it faces away from the centre of the hull's vertices.
    """
    try:
        hull = trimesh.convex.convex_hull(np.asarray(mesh.vertices), repair=False)
    except (RuntimeError, ValueError, IndexError):  # scipy's QhullError: flat points
        raise AssetRejected(element, _no_volume()) from None
    triangles = np.array(hull.triangles, dtype=np.float64)
    centre = np.asarray(hull.vertices, dtype=np.float64).mean(axis=0)
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    inward = np.einsum("ij,ij->i", normals, triangles[:, 0] - centre) < 0
    triangles[inward] = triangles[inward][:, ::-1]
    return triangles


def _no_volume() -> str:
    return (
        "the mesh encloses no volume (it is flat or a line), so it has no mass or inertia; "
        "give it thickness"
    )
