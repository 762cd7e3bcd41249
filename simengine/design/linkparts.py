"""Method `links`: one part per URDF link, placed in the asset frame with every joint at 0.

A link's mass and inertia are its own <inertial>'s, turned into the asset frame; a link
without one is weighed from its geometry at the requested density.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

import numpy as np

from simengine.assetbase import PackageTooLarge, quoted
from simengine.design.bodies import mesh_body
from simengine.design.meshes import Mesh, joined
from simengine.design.parts import Built, Piece
from simengine.design.shapes import shape_mesh
from simengine.design.solids import Solid, closed_solid, hull_solid, is_watertight, rotated
from simengine.design.source import Asset, links_in_order, shapes
from simengine.imports.frames import link_frames, origin
from simengine.types import FloatArray

_INERTIA = ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")


class _Triangles:
    """The triangles of all links together stay within the limit."""

    def __init__(self, limit: int) -> None:
        self.limit, self.total = limit, 0

    def add(self, count: int) -> None:
        self.total += count
        if self.total > self.limit:
            raise PackageTooLarge("asset", f"more than {self.limit} triangles in all")


def link_pieces(asset: Asset, *, density: float) -> list[Piece]:
    """A piece per link, root first, then breadth-first."""
    frames = link_frames(asset.robot)
    triangles = _Triangles(asset.limits.max_triangles)
    return [
        Piece(
            link.get("name", ""),
            partial(_build, asset, link, frames[link.get("name", "")], density, triangles),
        )
        for link in links_in_order(asset.robot)
    ]


def _build(
    asset: Asset,
    link: ET.Element,
    frame: FloatArray,
    density: float,
    triangles: _Triangles,
    name: str,
) -> Built:
    meshes: list[Mesh] = []
    warnings: list[str] = []
    for label, shape in shapes(link):
        mesh = shape_mesh(asset, shape, element=label)
        if mesh is None:
            warnings.append(f"{label} has a geometry of unknown kind; it was left out")
            continue
        triangles.add(len(mesh.faces))
        meshes.append(mesh.moved(frame))
    body = joined(meshes) if meshes else None
    inertial = link.find("inertial")
    if inertial is not None:
        solid, closed = _link_solid(inertial, frame, body)
        return Built(body, solid, "link", closed, warnings=warnings)
    if body is not None:
        built = mesh_body(body, density=density, name=name)
        warnings.append(
            f"link {quoted(name)} has no <inertial>; its mass comes from its geometry at "
            f"{density:g} kg/m^3"
        )
        return Built(
            body, built.solid, built.source, built.watertight, warnings=warnings + built.warnings
        )
    warnings.append(f"link {quoted(name)} has neither geometry nor <inertial>; it has no mass")
    return Built(None, Solid.empty(frame[:3, 3]), "link", False, warnings=warnings)


def _link_solid(inertial: ET.Element, frame: FloatArray, body: Mesh | None) -> tuple[Solid, bool]:
    """The link's own mass and inertia in the asset frame; the volume of its mesh."""
    placed = frame @ origin(inertial)
    mass_node, inertia_node = inertial.find("mass"), inertial.find("inertia")
    mass = float(mass_node.get("value", "0")) if mass_node is not None else 0.0
    values = dict.fromkeys(_INERTIA, 0.0)
    if inertia_node is not None:
        values |= {key: float(inertia_node.get(key, "0")) for key in _INERTIA}
    local = np.array(
        [
            [values["ixx"], values["ixy"], values["ixz"]],
            [values["ixy"], values["iyy"], values["iyz"]],
            [values["ixz"], values["iyz"], values["izz"]],
        ]
    )
    closed = body is not None and is_watertight(body)
    volume = 0.0
    if body is not None:
        measured = closed_solid(body, 1.0) if closed else hull_solid(body.vertices, 1.0)
        volume = 0.0 if measured is None else measured.volume
    return Solid(volume, mass, placed[:3, 3].copy(), rotated(local, placed[:3, :3])), closed
