"""A built linkage as URDF text: deterministic bytes, meshes named `meshes/<file name>`.

Part meshes and tensors are in the asset frame, so each link's visual and collision origin
is the inverse of the link's world transform, and its inertial frame is turned back to the
asset axes, where the part's tensor is valid as it is.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from simengine.design import rigid
from simengine.design.linkcheck import DYNAMICS_KEYS, LIMIT_KEYS
from simengine.types import FloatArray, JSONDict

MESH_FOLDER = "meshes"
_HEADER = '<?xml version="1.0"?>\n'
_INERTIA_KEYS = (
    ("ixx", 0, 0),
    ("ixy", 0, 1),
    ("ixz", 0, 2),
    ("iyy", 1, 1),
    ("iyz", 1, 2),
    ("izz", 2, 2),
)


def urdf(
    robot_name: str,
    *,
    links: Sequence[JSONDict],
    joints: Sequence[JSONDict],
    frames: Mapping[str, FloatArray],
    parts: Mapping[str, JSONDict],
) -> tuple[bytes, list[str]]:
    """The URDF of resolved links and joints, and the part mesh files it names.

    Args:
        robot_name: `<robot name>`.
        links: link dicts as `linkage.build` returns them, root first.
        joints: joint dicts as `linkage.build` returns them.
        frames: each link's world (asset-frame) transform at zero joint positions.
        parts: the segmentation's parts, for their mesh and hull files.

    Returns:
        The UTF-8 URDF, and each mesh file it references (as the parts name them, once,
        in order); the URDF names each `meshes/<its file name>`.

    Raises:
        ValueError: two different mesh files have the same file name.
    """
    robot = ET.Element("robot", name=robot_name)
    meshes: dict[str, str] = {}  # file name -> the part's mesh_file
    for link in links:
        element = ET.SubElement(robot, "link", name=link["name"])
        to_link = rigid.inverse(frames[link["name"]])
        _inertial(element, link, to_link)
        part = parts[link["part"]]
        if part.get("mesh_file") is None:
            continue
        hulls = [hull["mesh_file"] for hull in part.get("hulls") or []]
        shapes = [("visual", part["mesh_file"])]
        shapes += [("collision", hull) for hull in hulls] or [("collision", part["mesh_file"])]
        for kind, mesh_file in shapes:
            shape = ET.SubElement(element, kind)
            _origin(shape, to_link[:3, 3], to_link[:3, :3])
            ET.SubElement(
                ET.SubElement(shape, "geometry"), "mesh", filename=_mesh(meshes, mesh_file)
            )
    for joint in joints:
        _joint(robot, joint)
    ET.indent(robot, space="  ")
    text = _HEADER + ET.tostring(robot, encoding="unicode") + "\n"
    return text.encode("utf-8"), list(meshes.values())


def number(value: float) -> str:
    """A float as the shortest text that reads back to it; -0.0 is written 0.0."""
    return repr(float(value) + 0.0)


def _numbers(values: Iterable[float]) -> str:
    return " ".join(number(value) for value in values)


def _origin(element: ET.Element, xyz: Iterable[float], turn: FloatArray) -> None:
    ET.SubElement(element, "origin", xyz=_numbers(xyz), rpy=_numbers(rigid.rpy(turn)))


def _inertial(element: ET.Element, link: JSONDict, to_link: FloatArray) -> None:
    inertial = ET.SubElement(element, "inertial")
    centroid = to_link @ np.array([*link["centroid_m"], 1.0])
    _origin(inertial, centroid[:3], to_link[:3, :3])
    ET.SubElement(inertial, "mass", value=number(link["mass_kg"]))
    tensor = link["inertia_kg_m2"]
    ET.SubElement(
        inertial, "inertia", {key: number(tensor[row][col]) for key, row, col in _INERTIA_KEYS}
    )


def _mesh(meshes: dict[str, str], mesh_file: str) -> str:
    name = posixpath.basename(mesh_file)
    if meshes.setdefault(name, mesh_file) != mesh_file:
        raise ValueError(f"mesh files {meshes[name]!r} and {mesh_file!r} share a file name")
    return f"{MESH_FOLDER}/{name}"


def _joint(robot: ET.Element, joint: JSONDict) -> None:
    element = ET.SubElement(robot, "joint", name=joint["name"], type=joint["type"])
    ET.SubElement(element, "parent", link=joint["parent"])
    ET.SubElement(element, "child", link=joint["child"])
    origin = joint["origin"]
    ET.SubElement(element, "origin", xyz=_numbers(origin["xyz"]), rpy=_numbers(origin["rpy"]))
    if joint["axis"] is not None:
        ET.SubElement(element, "axis", xyz=_numbers(joint["axis"]))
    if joint["limit"] is not None:
        limit = joint["limit"]
        ET.SubElement(element, "limit", {key: number(limit[key]) for key in LIMIT_KEYS})
    if joint["dynamics"] is not None:
        dynamics = joint["dynamics"]
        ET.SubElement(element, "dynamics", {key: number(dynamics[key]) for key in DYNAMICS_KEYS})
