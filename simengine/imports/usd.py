"""A USD stage becomes a canonical URDF with OBJ meshes (pxr; imported only by `usdstep`).

Every layer the stage reaches is checked before it is composed (`usdlayers`); bodies,
joints and units come from the UsdPhysics parser (`usdphysics`), geometry and mass from the
composed stage (`usdgeometry`, `usdmass`). This module coordinates them and writes the URDF.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from pxr import Usd, UsdGeom

from simengine.assetbase import AssetRejected
from simengine.imports.inertia import MeshInertial
from simengine.imports.limits import ImportLimits
from simengine.imports.meshwrite import write_obj
from simengine.imports.names import robot_name as safe_name
from simengine.imports.urdfwrite import write_urdf
from simengine.imports.usdgeometry import Budget, add_geometry
from simengine.imports.usdlayers import checked_layers, composed_stage, stage_file
from simengine.imports.usdmass import link_inertial
from simengine.imports.usdmath import column_matrix, merged_arrays, urdf_number, urdf_numbers
from simengine.imports.usdphysics import (
    Joint,
    Link,
    Names,
    Units,
    in_metres,
    kinematic_tree,
    owner_body,
    place_links,
    read_scene,
    stage_units,
)
from simengine.types import FloatArray

MESH_FOLDER = "meshes"
_UNIT_AXES = {"X": "1 0 0", "Y": "0 1 0", "Z": "0 0 1"}


@dataclass(frozen=True, slots=True)
class Converted:
    """The URDF written (inside `out_dir`) and what the conversion noticed and accepted."""

    urdf_file: Path
    warnings: list[str]


def convert_usd(
    stage_path: Path,
    package_root: Path,
    out_dir: Path,
    *,
    robot_name: str,
    limits: ImportLimits,
) -> Converted:
    """Convert the USD stage `stage_path` to `out_dir/<robot_name>.urdf` plus OBJ meshes.

    Args:
        stage_path: the root layer (.usd, .usda or .usdc) inside `package_root`; a .usdz
            must be unpacked by the caller and its first layer passed.
        package_root: the folder every layer and asset the stage names must be inside.
        out_dir: an empty folder for the URDF and its `meshes/`.
        robot_name: the URDF's robot name (reduced to letters, digits and `_`).
        limits: only `max_triangles` and `max_links` are read.

    Returns:
        The URDF written and the conversion's warnings.

    Raises:
        AssetRejected: an arc or asset path outside the package, an unsupported joint,
            bodies that do not form one tree, or invalid geometry.
        PackageTooLarge: more triangles than `limits.max_triangles`.
    """
    root, first = stage_file(stage_path, package_root)
    stage = composed_stage(checked_layers(first, root), element=first.relative_to(root).as_posix())
    warnings: list[str] = []
    units = stage_units(stage, warnings)
    scene = read_scene(stage, limits=limits, warnings=warnings)
    order = kinematic_tree(scene.bodies, scene.joints, warnings)
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    links = place_links(stage, cache, order, units, warnings)
    budget = Budget(limits.max_triangles)
    for prim in scene.geometry:
        link = links[owner_body(prim.GetPath(), links)]
        world = column_matrix(cache.GetLocalToWorldTransform(prim))
        warnings.extend(add_geometry(link, prim, world, units, budget))
    name = safe_name(robot_name)
    robot = ET.Element("robot", name=name)
    (out_dir / MESH_FOLDER).mkdir(exist_ok=True)
    for body, _ in order:
        link = links[body]
        inertial = link_inertial(stage.GetPrimAtPath(body), link, cache, units, warnings)
        _write_link(robot, link, inertial, out_dir)
    joint_names = Names("joint")
    for body, joint in order:
        if joint is not None and joint.parent is not None:
            _write_joint(robot, joint, links[joint.parent], links[body], joint_names, units)
    ET.indent(robot)
    urdf = out_dir / f"{name}.urdf"
    write_urdf(robot, urdf)
    return Converted(urdf_file=urdf, warnings=warnings)


# --- the URDF ------------------------------------------------------------------------------


def _write_link(robot: ET.Element, link: Link, inertial: MeshInertial, out_dir: Path) -> None:
    element = ET.SubElement(robot, "link", name=link.name)
    body = ET.SubElement(element, "inertial")
    ET.SubElement(body, "origin", xyz=urdf_numbers(inertial.center), rpy="0 0 0")
    ET.SubElement(body, "mass", value=urdf_number(inertial.mass))
    tensor = inertial.tensor
    ET.SubElement(
        body,
        "inertia",
        ixx=urdf_number(tensor[0, 0]),
        ixy=urdf_number(tensor[0, 1]),
        ixz=urdf_number(tensor[0, 2]),
        iyy=urdf_number(tensor[1, 1]),
        iyz=urdf_number(tensor[1, 2]),
        izz=urdf_number(tensor[2, 2]),
    )
    shapes: list[tuple[str, dict[str, str], FloatArray]] = []
    if link.pieces:
        mesh_file = f"{MESH_FOLDER}/{link.name}.obj"
        write_obj(out_dir / mesh_file, *merged_arrays(link.pieces))
        shapes.append(("mesh", {"filename": mesh_file}, np.eye(4)))
    for kind, attributes, origin in shapes + link.shapes:
        for part in ("visual", "collision"):
            node = ET.SubElement(element, part)
            _origin(node, origin)
            ET.SubElement(ET.SubElement(node, "geometry"), kind, attributes)


def _write_joint(
    robot: ET.Element,
    joint: Joint,
    parent: Link,
    child: Link,
    names: Names,
    units: Units,
) -> None:
    kind = joint.kind
    limited = math.isfinite(joint.lower) and math.isfinite(joint.upper)
    if joint.lower > joint.upper:
        raise AssetRejected(joint.path, "the lower limit is above the upper one")
    if kind == "revolute" and not limited:
        kind = "continuous"
    element = ET.SubElement(robot, "joint", name=names.allocate(PurePosixPath(joint.path).name))
    element.set("type", kind)
    _origin(element, parent.adjust @ in_metres(joint.pose0, units))
    ET.SubElement(element, "parent", link=parent.name)
    ET.SubElement(element, "child", link=child.name)
    if kind == "fixed":
        return
    ET.SubElement(element, "axis", xyz=_UNIT_AXES.get(joint.axis, "1 0 0"))
    if kind == "continuous":
        return
    # pybullet takes 0 as "not given" (the engine then uses its default force).
    per_unit = units.kilograms * units.metres ** (2 if kind == "revolute" else 1)
    force = joint.force_limit * per_unit if joint.force_limit < 1e30 else 0.0
    limit = ET.SubElement(element, "limit", effort=urdf_number(force), velocity="0")
    if limited:
        scale = math.pi / 180 if kind == "revolute" else units.metres
        limit.set("lower", urdf_number(joint.lower * scale))
        limit.set("upper", urdf_number(joint.upper * scale))


def _origin(element: ET.Element, transform: FloatArray) -> None:
    ET.SubElement(
        element, "origin", xyz=urdf_numbers(transform[:3, 3]), rpy=urdf_numbers(_rpy(transform))
    )


def _rpy(transform: FloatArray) -> tuple[float, float, float]:
    """URDF's fixed-axis roll, pitch, yaw of a rotation (R = Rz(yaw) Ry(pitch) Rx(roll))."""
    r = transform[:3, :3]
    pitch = math.asin(float(np.clip(-r[2, 0], -1.0, 1.0)))
    if abs(r[2, 0]) < 1 - 1e-12:
        return math.atan2(r[2, 1], r[2, 2]), pitch, math.atan2(r[1, 0], r[0, 0])
    return 0.0, pitch, math.atan2(-r[0, 1], r[1, 1])  # gimbal lock: roll folded into yaw
