"""Parts of a segmented asset joined into one kinematic tree, written as a URDF.

Pure Python and numpy: the API process validates and builds linkages, and must never load
pybullet, trimesh or scipy. The root link's frame is the asset frame; every other link's
frame is its parent's composed with its joint's origin, exactly as URDF reads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simengine.design import linkurdf, rigid
from simengine.design.issue import Issue
from simengine.design.linkcheck import DYNAMICS_KEYS, LIMIT_KEYS, LIMITED, validate
from simengine.design.linktree import breadth_first
from simengine.types import FloatArray, JSONDict

__all__ = ["Issue", "Linkage", "build", "validate"]

# URDF's default joint axis.
DEFAULT_AXIS = (1.0, 0.0, 0.0)
_UNIT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Linkage:
    """A built linkage: response-shaped `links` and `joints`, and its URDF.

    links: [{"name", "part", "mass_kg", "centroid_m", "inertia_kg_m2", "inertia_source",
    "parent_joint"}], breadth-first from the root. joints: [{"name", "type", "parent",
    "child", "origin": {"xyz", "rpy"}, "axis" | None, "limit" | None, "dynamics" | None}],
    in request order. `mesh_files` are the parts' mesh files the URDF names as
    `meshes/<file name>`.
    """

    links: list[JSONDict]
    joints: list[JSONDict]
    dof: int
    total_mass_kg: float
    warnings: list[str]
    urdf: bytes
    mesh_files: list[str]


def build(request: JSONDict, parts: Mapping[str, JSONDict]) -> Linkage:
    """Join the parts as `request` says and write the URDF.

    Args:
        request: a LinkageRequest dict for which `validate` returned no issue.
        parts: the segmentation's parts by name (meshes in the asset frame).

    Returns:
        The Linkage; the same request and parts give byte-identical URDF.

    Raises:
        ValueError: two different part mesh files have the same file name.
    """
    warnings: list[str] = []
    joints = [_joint(spec, warnings) for spec in request.get("joints", [])]
    root = request["root"]
    order = breadth_first(root, joints)
    parent_joint = {joint["child"]: joint for joint in joints}
    frames: dict[str, FloatArray] = {root: np.eye(4)}
    for name in order[1:]:
        joint = parent_joint[name]
        offset = rigid.transform(joint["origin"]["xyz"], joint["origin"]["rpy"])
        frames[name] = frames[joint["parent"]] @ offset
    overrides: dict[str, JSONDict] = {}
    for link in request.get("links", []):
        overrides.setdefault(link["part"], link)
    links = [
        _link(name, parts[name], overrides.get(name, {}), parent_joint.get(name), warnings)
        for name in order
    ]
    urdf, mesh_files = linkurdf.urdf(
        request["robot_name"], links=links, joints=joints, frames=frames, parts=parts
    )
    return Linkage(
        links=links,
        joints=joints,
        dof=sum(joint["type"] != "fixed" for joint in joints),
        total_mass_kg=math.fsum(link["mass_kg"] for link in links),
        warnings=warnings,
        urdf=urdf,
        mesh_files=mesh_files,
    )


def _joint(spec: JSONDict, warnings: list[str]) -> JSONDict:
    name, kind = spec["name"], spec["type"]
    origin = spec.get("origin", {})
    axis: list[float] | None = None
    if kind == "fixed":
        if "axis" in spec:
            warnings.append(f"joint {name!r} is fixed: its axis {spec['axis']} is ignored")
    else:
        given = _floats(spec.get("axis", DEFAULT_AXIS))
        norm = math.hypot(*given)
        axis = [value / norm for value in given]
        if abs(norm - 1) > _UNIT_TOLERANCE:
            warnings.append(f"joint {name!r}: axis {given} was normalised to {axis}")
    limit: JSONDict = spec.get("limit", {})
    dynamics: JSONDict | None = spec.get("dynamics")
    return {
        "name": name,
        "type": kind,
        "parent": spec["parent"],
        "child": spec["child"],
        "origin": {
            "xyz": _floats(origin.get("xyz", (0.0, 0.0, 0.0))),
            "rpy": _floats(origin.get("rpy", (0.0, 0.0, 0.0))),
        },
        "axis": axis,
        "limit": {key: float(limit[key]) for key in LIMIT_KEYS} if kind in LIMITED else None,
        "dynamics": (
            None if dynamics is None else {k: float(dynamics.get(k, 0.0)) for k in DYNAMICS_KEYS}
        ),
    }


def _link(
    name: str,
    part: JSONDict,
    override: JSONDict,
    parent_joint: JSONDict | None,
    warnings: list[str],
) -> JSONDict:
    mass, tensor = override.get("mass_kg"), override.get("inertia_kg_m2")
    if tensor is None:
        tensor = np.asarray(part["inertia_kg_m2"], dtype=float)
        if mass is not None:
            tensor = tensor * (float(mass) / float(part["mass_kg"]))
    matrix = np.asarray(tensor, dtype=float)
    overridden = mass is not None or override.get("inertia_kg_m2") is not None
    source = "request" if overridden else part["inertia_source"]
    if source == "hull":
        warnings.append(f"part {name!r}: its inertia is its convex hull's, not its mesh's")
    return {
        "name": name,
        "part": name,
        "mass_kg": float(part["mass_kg"] if mass is None else mass),
        "centroid_m": _floats(part["centroid_m"]),
        "inertia_kg_m2": ((matrix + matrix.T) / 2).tolist(),
        "inertia_source": source,
        "parent_joint": None if parent_joint is None else parent_joint["name"],
    }


def _floats(values: Sequence[Any]) -> list[float]:
    return [float(value) for value in values]
