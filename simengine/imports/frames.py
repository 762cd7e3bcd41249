"""Where each link of a URDF sits at zero joint positions (homogeneous 4x4 transforms)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np

from simengine.types import FloatArray


def origin(element: ET.Element) -> FloatArray:
    """The transform of an element's <origin> (identity when it has none)."""
    node = element.find("origin")
    xyz = _three(node.get("xyz") if node is not None else None)
    roll, pitch, yaw = _three(node.get("rpy") if node is not None else None)
    # URDF's rpy: fixed axes, roll about x first, then pitch about y, then yaw about z.
    cr, sr, cp, sp, cy, sy = (
        math.cos(roll),
        math.sin(roll),
        math.cos(pitch),
        math.sin(pitch),
        math.cos(yaw),
        math.sin(yaw),
    )
    transform = np.eye(4)
    transform[:3, :3] = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    transform[:3, 3] = xyz
    return transform


def link_frames(robot: ET.Element) -> dict[str, FloatArray]:
    """Each link's transform in the root link's frame, with every joint at zero.

    The URDF must already be a checked tree (one root, every link reached).
    """
    children: dict[str, list[tuple[str, FloatArray]]] = {}
    has_parent: set[str] = set()
    for joint in robot.findall("joint"):
        parent, child = joint.find("parent"), joint.find("child")
        if parent is None or child is None:
            continue
        child_name = child.get("link", "")
        children.setdefault(parent.get("link", ""), []).append((child_name, origin(joint)))
        has_parent.add(child_name)
    names = [link.get("name", "") for link in robot.findall("link")]
    frames = {name: np.eye(4) for name in names if name not in has_parent}
    stack = list(frames)
    while stack:
        name = stack.pop()
        for link, offset in children.get(name, []):
            if link not in frames:
                frames[link] = frames[name] @ offset
                stack.append(link)
    return frames


def _three(text: str | None) -> tuple[float, float, float]:
    if not text:
        return (0.0, 0.0, 0.0)
    x, y, z = (float(part) for part in text.split())
    return (x, y, z)
