"""The mass, centre of mass and inertia of a USD link: PhysicsMassAPI, else its geometry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import trimesh
from pxr import UsdPhysics

from simengine.assetbase import AssetRejected, quoted
from simengine.imports.inertia import MeshInertial, mesh_inertial
from simengine.imports.usdmath import Piece, column_matrix, merged_arrays, quaternion_rotation
from simengine.imports.usdphysics import Link, Units, in_metres

DEFAULT_DENSITY = 1000.0  # kg/m^3, as UsdPhysics assumes


def link_inertial(
    prim: Any, link: Link, cache: Any, units: Units, warnings: list[str]
) -> MeshInertial:
    """Mass, centre of mass and inertia in the link frame: from MassAPI, else the geometry."""
    api = UsdPhysics.MassAPI(prim)
    mass = _authored(api.GetMassAttr())
    center_attr, diagonal_attr = api.GetCenterOfMassAttr(), api.GetDiagonalInertiaAttr()
    center = np.array(center_attr.Get(), dtype=np.float64)
    diagonal = np.array(diagonal_attr.Get(), dtype=np.float64)
    has_center = center_attr.HasAuthoredValue() and bool(np.all(np.isfinite(center)))
    has_diagonal = diagonal_attr.HasAuthoredValue() and bool(np.all(diagonal > 0))
    label = f"link {quoted(link.name)}"
    geometry = None
    if link.solids and not (mass is not None and has_center and has_diagonal):
        density = _authored(api.GetDensityAttr())
        kg_m3 = density * units.kilograms / units.metres**3 if density else DEFAULT_DENSITY
        geometry, notes = mesh_inertial(
            _solid(link.solids), density=kg_m3, element=link.body, name=f"of {label}"
        )
        warnings.extend(notes)
        if mass is None:
            warnings.append(
                f"{label}: no physics:mass; {geometry.mass:.4g} kg computed from its "
                f"geometry at {kg_m3:g} kg/m^3"
            )
    if (mass is None or not has_diagonal) and geometry is None:
        raise AssetRejected(
            link.body,
            "no geometry to compute the mass from: author physics:mass and "
            "physics:diagonalInertia (PhysicsMassAPI)",
        )
    kilograms = mass * units.kilograms if mass is not None else _known(geometry).mass
    if has_center:  # in the body prim's own space, scale included
        world = column_matrix(cache.GetLocalToWorldTransform(prim))
        scaled = in_metres(np.linalg.inv(link.frame) @ world, units, scale=True)
        point = (link.adjust @ scaled @ np.append(center, 1.0))[:3]
    else:
        point = np.array(geometry.center if geometry is not None else (0.0, 0.0, 0.0))
    if has_diagonal:
        rotation = link.adjust[:3, :3] @ quaternion_rotation(api.GetPrincipalAxesAttr().Get())
        moments = np.diag(diagonal * units.kilograms * units.metres**2)
        tensor = rotation @ moments @ rotation.T
    else:
        tensor = _known(geometry).tensor * (kilograms / _known(geometry).mass)
        if mass is not None:
            warnings.append(f"{label}: no physics:diagonalInertia; computed from its geometry")
    x, y, z = (float(value) for value in point)
    volume = geometry.volume if geometry is not None else 0.0
    return MeshInertial(mass=kilograms, center=(x, y, z), tensor=tensor, volume=volume)


def _known(geometry: MeshInertial | None) -> MeshInertial:
    if geometry is None:  # link_inertial rejects the body first
        raise AssertionError("no geometry inertial")
    return geometry


def _solid(pieces: list[Piece]) -> Any:
    """All pieces as one mesh; corners repeated within a piece (common in USD) are merged,
    but never across pieces, where touching shapes would share edges and seem open."""
    merged = []
    for vertices, faces in pieces:
        mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
        mesh.merge_vertices()
        merged.append((np.asarray(mesh.vertices), np.asarray(mesh.faces, dtype=np.int64)))
    return trimesh.Trimesh(*merged_arrays(merged), process=False)


def _authored(attribute: Any) -> float | None:
    """An authored, positive MassAPI value (UsdPhysics treats 0 as 'not set')."""
    if not attribute.HasAuthoredValue():
        return None
    value = float(attribute.Get())
    return value if math.isfinite(value) and value > 0 else None
