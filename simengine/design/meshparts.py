"""Methods for an asset made of one mesh: its connected bodies (`connected_components`),
its OBJ groups (`mesh_groups`), or its bodies cut into convex hulls (`convex_decomposition`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from simengine.assetbase import AssetRejected, quoted
from simengine.design.bodies import hulls_body, mesh_body
from simengine.design.components import components
from simengine.design.hulls import convex_hull, decompose
from simengine.design.meshes import IntArray, Mesh
from simengine.design.parts import Built, Piece
from simengine.design.segjob import MAX_HULLS, Decomposition
from simengine.design.shapes import scaled
from simengine.design.solids import is_watertight, signed_volume
from simengine.design.source import Asset, shapes
from simengine.imports.frames import origin
from simengine.imports.objgroups import GroupsUnmatchedError, face_groups


@dataclass(frozen=True, slots=True)
class OneMesh:
    """The asset's only mesh: as read from `path`, and placed in the asset frame."""

    raw: Mesh
    placed: Mesh
    path: Path


def one_mesh(asset: Asset, method: str) -> OneMesh:
    """The mesh of a one-link, one-mesh asset (a bare mesh import is one).

    Raises:
        AssetRejected: the asset has several links or shapes, or a primitive shape.
    """
    links = asset.robot.findall("link")
    needs = f"method {quoted(method)} needs an asset made of one mesh"
    if len(links) != 1:
        raise AssetRejected("method", f"{needs}; this asset has {len(links)} links (try 'links')")
    found = shapes(links[0])
    node = found[0][1].find("geometry/mesh") if len(found) == 1 else None
    if node is None:
        raise AssetRejected("method", f"{needs}; {_describe(found)} (try 'links')")
    label, shape = found[0]
    loaded, path = asset.mesh(node.get("filename", ""), element=f"{label}/geometry/mesh@filename")
    raw = Mesh.of(loaded.vertices, loaded.mesh.faces)
    return OneMesh(raw, scaled(raw, node.get("scale")).moved(origin(shape)), path)


def component_pieces(mesh: Mesh, *, density: float) -> list[Piece]:
    """A piece per connected body, named component_000, component_001..."""
    return [
        Piece(f"component_{i:03d}", partial(_body, mesh, faces, density))
        for i, faces in enumerate(components(mesh.faces, len(mesh.vertices)))
    ]


def group_pieces(one: OneMesh, *, density: float) -> list[Piece]:
    """A piece per `o` / `g` / `usemtl` group of an OBJ, in the file's order.

    Raises:
        AssetRejected: the mesh is not an OBJ, has no groups, or they do not match.
    """
    needs = "method 'mesh_groups' needs an OBJ mesh with o/g/usemtl groups"
    kind = one.path.suffix.lower().lstrip(".").upper()
    if kind != "OBJ":
        raise AssetRejected(
            "method", f"{needs}; this asset's mesh is {kind} (try 'connected_components')"
        )
    try:
        groups = face_groups(one.path.read_bytes(), one.raw.vertices, one.raw.faces)
    except GroupsUnmatchedError:
        raise AssetRejected(
            "method",
            "the o/g/usemtl groups of this asset's OBJ do not match its triangles "
            "(try 'connected_components')",
        ) from None
    if groups is None:
        raise AssetRejected("method", f"{needs}; this asset has none (try 'connected_components')")
    order = np.argsort(groups.labels, kind="stable").astype(np.int64)
    counts = np.bincount(groups.labels, minlength=len(groups.names))
    members = np.split(order, np.cumsum(counts)[:-1])
    return [
        Piece(name, partial(_body, one.placed, faces, density))
        for name, faces in zip(groups.names, members, strict=True)
    ]


def hull_pieces(mesh: Mesh, *, density: float, settings: Decomposition) -> list[Piece]:
    """A piece per connected body, each decomposed into convex hulls by CoACD when built."""
    return [
        Piece(f"component_{i:03d}", partial(_hulls, mesh, faces, density, settings))
        for i, faces in enumerate(components(mesh.faces, len(mesh.vertices)))
    ]


def _body(mesh: Mesh, faces: IntArray, density: float, name: str) -> Built:
    return mesh_body(mesh.subset(faces), density=density, name=name)


def _hulls(
    mesh: Mesh, faces: IntArray, density: float, settings: Decomposition, name: str
) -> Built:
    body = mesh.subset(faces)
    if convex_hull(body.vertices) is None:  # flat or a line: nothing to decompose
        return mesh_body(body, density=density, name=name)
    closed = is_watertight(body)
    hulls = decompose(_outward(body) if closed else body, closed=closed, settings=settings)
    if len(hulls) > MAX_HULLS:
        raise AssetRejected(
            "decomposition",
            f"part {quoted(name)} needs {len(hulls)} convex hulls, more than {MAX_HULLS}; "
            "raise decomposition.threshold or set decomposition.max_hulls",
        )
    return hulls_body(body, hulls, density=density, name=name)


def _outward(mesh: Mesh) -> Mesh:
    """A closed mesh wound so that its volume is positive, as CoACD expects."""
    if signed_volume(mesh) >= 0:
        return mesh
    return Mesh(mesh.vertices, np.ascontiguousarray(mesh.faces[:, ::-1]))


def _describe(found: list[tuple[str, ET.Element]]) -> str:
    """What the only link of an asset holds, when it is not exactly one mesh."""
    if len(found) != 1:
        return f"its link has {len(found)} shapes"
    kinds = [child.tag for child in found[0][1].findall("geometry/*")]
    return f"its link's shape is a {kinds[0] if kinds else 'empty geometry'}"
