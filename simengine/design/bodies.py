"""A part's body from its mesh: exact if closed, else from its convex hull or hulls."""

from __future__ import annotations

import numpy as np

from simengine.assetbase import quoted
from simengine.design.meshes import Mesh
from simengine.design.parts import Built
from simengine.design.solids import Solid, closed_solid, hull_solid, is_watertight


def mesh_body(mesh: Mesh, *, density: float, name: str) -> Built:
    """The part `name` of uniform `density` bounded by `mesh` (its convex hull if open)."""
    closed = is_watertight(mesh)
    if closed:
        return _checked(mesh, closed_solid(mesh, density), "mesh", closed, [], name)
    solid = hull_solid(mesh.vertices, density)
    warnings = [] if solid is None else [_open(name, "its convex hull", solid.volume)]
    return _checked(mesh, solid, "hull", closed, warnings, name)


def hulls_body(mesh: Mesh, hulls: list[Mesh], *, density: float, name: str) -> Built:
    """The part `name` decomposed into `hulls` (its collision shapes): its mass exact from
    `mesh` if it is closed, else from its convex hull, as `mesh_body` weighs it.

    Not from the union of the hulls: CoACD treats an open surface as a thin shell, so on an
    open 0.1 x 0.2 x 0.3 m box its hulls held 7e-4 m^3 of the 6e-3 m^3 inside (measured).
    """
    built = mesh_body(mesh, density=density, name=name)
    return Built(mesh, built.solid, built.source, built.watertight, hulls, built.warnings)


def _checked(
    mesh: Mesh,
    solid: Solid | None,
    source: str,
    closed: bool,
    warnings: list[str],
    name: str,
    hulls: list[Mesh] | None = None,
) -> Built:
    if solid is None:
        centre = (mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0)) / 2
        solid = Solid.empty(np.asarray(centre, dtype=np.float64))
        warnings = [
            f"part {quoted(name)} encloses no volume (it is flat or a line), so it has no "
            "mass or inertia"
        ]
    return Built(mesh, solid, source, closed, hulls or [], warnings)


def _open(name: str, what: str, volume: float) -> str:
    return (
        f"part {quoted(name)} is not watertight; its volume, mass and inertia come from "
        f"{what} ({volume:.3g} m^3)"
    )
