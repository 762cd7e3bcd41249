"""A URDF <collision> or <visual> as a triangle mesh in its link's frame.

Meshes are read as they are (`process=False`) and scaled; boxes, cylinders, spheres and
capsules are tessellated by trimesh, always the same way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import trimesh

from simengine.assetbase import AssetRejected
from simengine.design.meshes import Mesh
from simengine.design.source import Asset
from simengine.imports.frames import origin

CYLINDER_SECTIONS = 32
SPHERE_SUBDIVISIONS = 2
CAPSULE_COUNT = (32, 16)


def shape_mesh(asset: Asset, shape: ET.Element, *, element: str) -> Mesh | None:
    """The shape's triangles placed by its <origin>; None for a geometry of no known kind.

    Raises:
        AssetRejected: a mesh file is missing or cannot be read.
        PackageTooLarge: a mesh has too many triangles.
    """
    geometry = shape.find("geometry")
    if geometry is None:
        return None
    mesh = _geometry(asset, geometry, element=f"{element}/geometry")
    return None if mesh is None else mesh.moved(origin(shape))


def _geometry(asset: Asset, geometry: ET.Element, *, element: str) -> Mesh | None:
    node = geometry.find("mesh")
    if node is not None:
        loaded, _ = asset.mesh(node.get("filename", ""), element=f"{element}/mesh@filename")
        return scaled(Mesh.of(loaded.vertices, loaded.mesh.faces), node.get("scale"))
    made: trimesh.Trimesh | None = None
    if (node := geometry.find("box")) is not None:
        made = trimesh.creation.box(extents=_numbers(node, "size", element, 3))
    elif (node := geometry.find("cylinder")) is not None:
        radius, length = _dimensions(node, element)
        made = trimesh.creation.cylinder(radius=radius, height=length, sections=CYLINDER_SECTIONS)
    elif (node := geometry.find("sphere")) is not None:
        (radius,) = _numbers(node, "radius", element, 1)
        made = trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=radius)
    elif (node := geometry.find("capsule")) is not None:
        radius, length = _dimensions(node, element)
        made = trimesh.creation.capsule(height=length, radius=radius, count=CAPSULE_COUNT)
    return None if made is None else Mesh.of(made.vertices, made.faces)


def scaled(mesh: Mesh, scale: str | None) -> Mesh:
    """The mesh under a URDF <mesh scale="x y z">; a mirroring scale keeps faces outward."""
    if not scale:
        return mesh
    factors = np.array([float(part) for part in scale.split()], dtype=np.float64)
    faces = mesh.faces[:, ::-1] if np.prod(np.sign(factors)) < 0 else mesh.faces
    return Mesh(mesh.vertices * factors, np.ascontiguousarray(faces))


def _dimensions(node: ET.Element, element: str) -> tuple[float, float]:
    (radius,) = _numbers(node, "radius", element, 1)
    (length,) = _numbers(node, "length", element, 1)
    return radius, length


def _numbers(node: ET.Element, key: str, element: str, count: int) -> list[float]:
    try:
        values = [float(part) for part in node.get(key, "").split()]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(values)) or min(values) <= 0:
        raise AssetRejected(f"{element}/{node.tag}@{key}", f"needs {count} positive number(s)")
    return values
