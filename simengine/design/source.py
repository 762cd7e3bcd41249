"""The imported asset a segmentation reads: its canonical URDF, links and mesh files.

The canonical folder was checked at import; paths are still resolved without leaving it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from simengine.assetbase import AssetLimits, AssetRejected, quoted
from simengine.design.segjob import SegmentJob
from simengine.imports.limits import ImportLimits
from simengine.imports.meshload import MESH_KINDS, LoadedMesh, load_mesh
from simengine.safefiles import check_reference, locate_regular, read_regular
from simengine.urdfcheck import parse_robot

_MAX_URDF_BYTES = AssetLimits().max_urdf_bytes
_MAX_MESH_BYTES = ImportLimits().max_entry_bytes


@dataclass(frozen=True, slots=True)
class Asset:
    """A parsed canonical URDF, the folder it lives in and the triangle limit."""

    robot: ET.Element
    folder: Path
    base: PurePosixPath
    limits: ImportLimits

    def locate(self, filename: str, *, element: str, what: str = "mesh") -> Path:
        """A file the URDF names, relative to the URDF, found inside the asset folder."""
        ref = self.base / check_reference(filename, element=element, what=what)
        path = locate_regular(
            self.folder, ref, element=element, what=what, max_bytes=_MAX_MESH_BYTES
        )
        if path is None:
            raise AssetRejected(element, f"the {what} file is missing from the asset")
        return path

    def mesh(self, filename: str, *, element: str) -> tuple[LoadedMesh, Path]:
        """The mesh file the URDF names, read and checked, and where it is."""
        path = self.locate(filename, element=element)
        kind = path.suffix.lower().lstrip(".")
        if kind not in MESH_KINDS:
            raise AssetRejected(element, f"mesh files of type {quoted(kind)} cannot be read")
        return load_mesh(path, kind=kind, element=element, limits=self.limits), path


def read_asset(job: SegmentJob) -> Asset:
    """Read the job's canonical URDF.

    Raises:
        AssetRejected: it is missing, unsafe or not a URDF.
    """
    main = check_reference(job.main_file, element="main_file", what="URDF")
    path = locate_regular(
        job.asset_dir, main, element="main_file", what="URDF", max_bytes=_MAX_URDF_BYTES
    )
    if path is None:
        raise AssetRejected("main_file", "the asset's URDF is missing")
    data = read_regular(path, element="main_file", what="URDF", max_bytes=_MAX_URDF_BYTES)
    return Asset(
        robot=parse_robot(data),
        folder=job.asset_dir,
        base=main.parent,
        limits=ImportLimits(max_triangles=job.max_triangles),
    )


def links_in_order(robot: ET.Element) -> list[ET.Element]:
    """The links, root first, then breadth-first with children in joint order.

    Raises:
        AssetRejected: the links do not form one tree (a canonical URDF always does).
    """
    links = {link.get("name", ""): link for link in robot.findall("link")}
    children: dict[str, list[str]] = {}
    has_parent: set[str] = set()
    for joint in robot.findall("joint"):
        parent, child = joint.find("parent"), joint.find("child")
        if parent is not None and child is not None:
            children.setdefault(parent.get("link", ""), []).append(child.get("link", ""))
            has_parent.add(child.get("link", ""))
    roots = [name for name in links if name not in has_parent]
    if len(roots) != 1:
        raise AssetRejected("robot", "the asset's links do not form one tree")
    order: list[str] = []
    queue = deque(roots)
    while queue:
        name = queue.popleft()
        if name in links and name not in order:
            order.append(name)
            queue.extend(children.get(name, []))
    if len(order) != len(links):
        raise AssetRejected("robot", "the asset's links do not form one tree")
    return [links[name] for name in order]


def shapes(link: ET.Element) -> list[tuple[str, ET.Element]]:
    """The link's collision shapes (its visual ones if it has none), each with its label."""
    label = f"link {quoted(link.get('name', ''))}"
    for part in ("collision", "visual"):
        found = [
            (f"{label}/{part}[{index}]", shape)
            for index, shape in enumerate(link.findall(part), start=1)
            if shape.find("geometry") is not None
        ]
        if found:
            return found
    return []
