"""The structure of a URDF, checked before pybullet parses it.

pybullet dies with SIGSEGV on a URDF with two root links, so the links and joints must form
exactly one tree here first. Parsing uses defusedxml with DTDs refused, which also rules out
entity expansion (billion laughs) and external entities.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as SafeET

from simengine.assetbase import AssetLimits, AssetRejected, quoted
from simengine.physicscheck import check_inertial, check_limits

# The joint types pybullet's URDF importer builds; `floating` and `planar` it does not.
MOVABLE_JOINTS = frozenset({"revolute", "continuous", "prismatic", "spherical"})
JOINT_TYPES = MOVABLE_JOINTS | {"fixed"}

# (element path, attribute, how many numbers, must be >= 0): below a link or joint ...
_NUMBERS: tuple[tuple[str, str, int, bool], ...] = (
    ("origin", "xyz", 3, False),
    ("origin", "rpy", 3, False),
    ("inertial/origin", "xyz", 3, False),
    ("inertial/origin", "rpy", 3, False),
    ("inertial/mass", "value", 1, True),
    *(("inertial/inertia", a, 1, False) for a in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")),
    ("axis", "xyz", 3, False),
    *(("limit", a, 1, False) for a in ("lower", "upper", "effort", "velocity")),
    *(("dynamics", a, 1, False) for a in ("damping", "friction")),
)
# ... and below a link's <visual> or <collision>.
_SHAPE_NUMBERS: tuple[tuple[str, str, int, bool], ...] = (
    ("origin", "xyz", 3, False),
    ("origin", "rpy", 3, False),
    ("geometry/box", "size", 3, True),
    ("geometry/sphere", "radius", 1, True),
    ("geometry/cylinder", "radius", 1, True),
    ("geometry/cylinder", "length", 1, True),
    ("geometry/capsule", "radius", 1, True),
    ("geometry/capsule", "length", 1, True),
    ("geometry/mesh", "scale", 3, False),
)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the URDF names: where (`element`), what it is and the path as written."""

    element: str
    kind: str  # "mesh" or "texture"
    filename: str


@dataclass(frozen=True, slots=True)
class UrdfTree:
    """The checked structure of a URDF."""

    name: str
    links: tuple[str, ...]
    joints: tuple[str, ...]
    movable_joints: tuple[str, ...]
    root_link: str
    files: tuple[FileRef, ...]


def parse_robot(data: bytes) -> ET.Element:
    """Parse URDF bytes safely (no DTD, so no entity expansion) into its <robot> element.

    Raises:
        AssetRejected: the XML is malformed or unsafe, or its root is not <robot>.
    """
    try:
        robot = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as error:
        kind = type(error).__name__
        raise AssetRejected(
            "robot", f"unsafe XML refused ({kind}); DTDs are not accepted"
        ) from None
    except ET.ParseError as error:
        raise AssetRejected("robot", f"the file is not well-formed XML ({error})") from None
    if robot.tag != "robot":
        raise AssetRejected(f"<{robot.tag[:32]}>", "the root element must be <robot>")
    return robot


def parse_urdf(data: bytes, *, limits: AssetLimits, physics: bool = False) -> UrdfTree:
    """Parse URDF bytes and check that links and joints form one tree.

    With `physics`, masses, inertia tensors and joint limits must also make physical sense
    (see `simengine.physicscheck`); pybullet itself accepts such URDFs silently.

    Raises:
        AssetRejected: the XML is malformed or unsafe, or the robot is not one valid tree.
    """
    robot = parse_robot(data)
    links, joints = robot.findall("link"), robot.findall("joint")
    if not links:
        raise AssetRejected("robot", "the robot has no <link>")
    if len(links) > limits.max_links:
        raise AssetRejected("robot", f"{len(links)} links; limit {limits.max_links}")
    if len(joints) > limits.max_joints:
        raise AssetRejected("robot", f"{len(joints)} joints; limit {limits.max_joints}")
    link_names = _names(links, "link")
    joint_names = _names(joints, "joint")
    root = _single_root(joints, joint_names, link_names)
    for label, element in _labelled(links, link_names, "link"):
        _check_numbers(element, label)
        if physics:
            check_inertial(element, label)
    movable: list[str] = []
    for label, element in _labelled(joints, joint_names, "joint"):
        _check_numbers(element, label)
        if physics:
            check_limits(element, label)
        kind = element.get("type", "")
        if kind not in JOINT_TYPES:
            raise AssetRejected(
                f"{label}@type",
                f"joint type {quoted(kind)} is not supported; use one of {sorted(JOINT_TYPES)}",
            )
        if kind in MOVABLE_JOINTS:
            movable.append(element.get("name", ""))
    return UrdfTree(
        name=robot.get("name", ""),
        links=tuple(link_names),
        joints=tuple(joint_names),
        movable_joints=tuple(movable),
        root_link=root,
        files=tuple(ref for ref, _ in file_nodes(robot)),
    )


def file_nodes(robot: ET.Element) -> list[tuple[FileRef, ET.Element]]:
    """Each file reference of a parsed <robot> with the element holding its `filename`, in
    `parse_urdf`'s order and with its labels (so that a copy can rewrite the paths)."""
    links = robot.findall("link")
    names = [link.get("name", "") for link in links]
    found: list[tuple[FileRef, ET.Element]] = []
    for label, element in _labelled(links, names, "link"):
        found += _file_refs(element, label)
    for index, material in enumerate(robot.findall("material"), start=1):
        found += _file_refs(material, f"material[{index}]", below_link=False)
    return found


def _names(elements: list[ET.Element], tag: str) -> list[str]:
    names = []
    for index, element in enumerate(elements, start=1):
        name = element.get("name")
        if not name:
            raise AssetRejected(f"{tag}[{index}]@name", f"every <{tag}> needs a name")
        names.append(name)
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        shown = ", ".join(quoted(name) for name in duplicates[:10])
        raise AssetRejected(f"{tag}@name", f"duplicate {tag} names: {shown}")
    return names


def _single_root(joints: list[ET.Element], joint_names: list[str], links: list[str]) -> str:
    known = set(links)
    parent_of: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for index, (joint, name) in enumerate(zip(joints, joint_names, strict=True), start=1):
        label = f"joint[{index}] {quoted(name)}"
        ends = {}
        for end in ("parent", "child"):
            node = joint.find(end)
            link = node.get("link") if node is not None else None
            if not link:
                raise AssetRejected(f"{label}/{end}@link", f"the joint needs a <{end} link=...>")
            if link not in known:
                raise AssetRejected(f"{label}/{end}@link", f"no link is named {quoted(link)}")
            ends[end] = link
        parent, child = ends["parent"], ends["child"]
        if parent == child:
            raise AssetRejected(f"{label}/child@link", "a joint cannot connect a link to itself")
        if child in parent_of:
            raise AssetRejected(
                f"{label}/child@link", f"link {quoted(child)} is already the child of a joint"
            )
        parent_of[child] = parent
        children.setdefault(parent, []).append(child)
    roots = [link for link in links if link not in parent_of]
    if len(roots) != 1:
        shown = ", ".join(quoted(link) for link in roots[:10]) or "none"
        raise AssetRejected(
            "robot",
            f"a robot needs exactly one root link (a link no joint has as child); found "
            f"{len(roots)}: {shown}",
        )
    reached, stack = {roots[0]}, [roots[0]]
    while stack:
        for child in children.get(stack.pop(), []):
            reached.add(child)
            stack.append(child)
    cut_off = [link for link in links if link not in reached]
    if cut_off:
        shown = ", ".join(quoted(link) for link in cut_off[:10])
        raise AssetRejected("robot", f"links not connected to root {quoted(roots[0])}: {shown}")
    return roots[0]


def _labelled(
    elements: list[ET.Element], names: list[str], tag: str
) -> list[tuple[str, ET.Element]]:
    return [
        (f"{tag}[{index}] {quoted(name)}", element)
        for index, (name, element) in enumerate(zip(names, elements, strict=True), start=1)
    ]


def _check_numbers(element: ET.Element, label: str) -> None:
    _check_table(element, label, _NUMBERS)
    for part in ("visual", "collision"):
        for index, shape in enumerate(element.findall(part), start=1):
            _check_table(shape, f"{label}/{part}[{index}]", _SHAPE_NUMBERS)


def _check_table(
    element: ET.Element, label: str, table: tuple[tuple[str, str, int, bool], ...]
) -> None:
    for path, attribute, size, non_negative in table:
        for node in element.findall(path):
            text = node.get(attribute)
            if text is None:
                continue
            values = _floats(text)
            if values is None or len(values) != size or (non_negative and min(values) < 0):
                need = f"{size} finite number{'s' if size > 1 else ''}"
                need += " >= 0" if non_negative else ""
                raise AssetRejected(f"{label}/{path}@{attribute}", f"needs {need}")


def _floats(text: str) -> list[float] | None:
    try:
        values = [float(part) for part in text.split()]
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def _file_refs(
    element: ET.Element, label: str, *, below_link: bool = True
) -> list[tuple[FileRef, ET.Element]]:
    refs = []
    for part in ("visual", "collision") if below_link else ():
        for index, shape in enumerate(element.findall(part), start=1):
            where = f"{label}/{part}[{index}]"
            for mesh in shape.findall("geometry/mesh"):
                refs.append((FileRef(f"{where}/geometry/mesh@filename", "mesh", _name(mesh)), mesh))
            for texture in shape.findall("material/texture"):
                ref = FileRef(f"{where}/material/texture@filename", "texture", _name(texture))
                refs.append((ref, texture))
    if not below_link:
        for texture in element.findall("texture"):
            refs.append((FileRef(f"{label}/texture@filename", "texture", _name(texture)), texture))
    return refs


def _name(node: ET.Element) -> str:
    return node.get("filename", "")
