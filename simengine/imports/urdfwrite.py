"""Writing a canonical URDF, and the one-link URDF that wraps a bare mesh."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from simengine.imports.inertia import MeshInertial


def write_urdf(robot: ET.Element, path: Path) -> None:
    """Serialise a <robot> element as UTF-8 with an XML declaration; never overwrite."""
    data = ET.tostring(robot, encoding="utf-8", xml_declaration=True)
    with path.open("xb") as out:
        out.write(data + b"\n")


def mesh_robot(name: str, *, mesh_file: str, inertial: MeshInertial) -> ET.Element:
    """A <robot> of one link `name` drawn and collided by `mesh_file`, with `inertial`."""
    robot = ET.Element("robot", name=name)
    link = ET.SubElement(robot, "link", name=name)
    body = ET.SubElement(link, "inertial")
    ET.SubElement(body, "origin", xyz=_numbers(inertial.center), rpy="0 0 0")
    ET.SubElement(body, "mass", value=repr(inertial.mass))
    tensor = inertial.tensor
    ET.SubElement(
        body,
        "inertia",
        ixx=repr(float(tensor[0, 0])),
        ixy=repr(float(tensor[0, 1])),
        ixz=repr(float(tensor[0, 2])),
        iyy=repr(float(tensor[1, 1])),
        iyz=repr(float(tensor[1, 2])),
        izz=repr(float(tensor[2, 2])),
    )
    for part in ("visual", "collision"):
        geometry = ET.SubElement(ET.SubElement(link, part), "geometry")
        ET.SubElement(geometry, "mesh", filename=mesh_file)
    ET.indent(robot)
    return robot


def _numbers(values: tuple[float, ...]) -> str:
    return " ".join(repr(value) for value in values)
