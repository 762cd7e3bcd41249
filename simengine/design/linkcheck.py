"""Every reason a linkage request cannot become a URDF, each with a JSON pointer.

pybullet accepts a NaN origin, a negative or impossible inertia and lower > upper without
a word and then explodes or freezes, and it dies on a URDF that is not one tree; so all of
it is refused here, in the API process, before a child is started. The tree rules
(parents, cycles, roots, reach) are in `linktree`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simengine.design.issue import Issue
from simengine.design.linktree import tree_issues
from simengine.types import JSONDict

MOVABLE = frozenset({"revolute", "continuous", "prismatic"})
LIMITED = frozenset({"revolute", "prismatic"})
LIMIT_KEYS = ("lower", "upper", "effort", "velocity")
DYNAMICS_KEYS = ("damping", "friction")
# An axis shorter than this has no direction to normalise.
MIN_AXIS_NORM = 1e-9
# Relative tolerances: a tensor read from JSON is symmetric up to rounding, and principal
# moments of a thin plate meet the triangle inequality with equality.
_SYMMETRY_TOLERANCE = 1e-9
_TRIANGLE_SLACK = 1e-6

__all__ = ["Issue", "inertia_problem", "validate"]


def validate(request: JSONDict, parts: Mapping[str, JSONDict]) -> list[Issue]:
    """Every problem of a (schema-valid) linkage request, in a fixed order.

    Args:
        request: the LinkageRequest dict; optional members may be absent.
        parts: the segmentation's parts by name.

    Returns:
        The issues: /root, then each joint in order, then the tree, then each link
        override, then the parts' own masses and inertias. Empty: `build` may be called.
    """
    root = request["root"]
    joints: list[JSONDict] = request.get("joints", [])
    links: list[JSONDict] = request.get("links", [])
    issues: list[Issue] = []
    if root not in parts:
        issues.append(Issue("/root", f"root {root!r} is not a part of the segmentation"))
    names: dict[str, int] = {}
    for index, joint in enumerate(joints):
        issues += _joint_issues(index, joint, parts, root, names)
    issues += tree_issues(joints, parts, root=root)
    overrides: dict[str, JSONDict] = {}
    for index, link in enumerate(links):
        issues += _override_issues(index, link, parts, overrides)
    for name, part in parts.items():
        issues += _part_issues(name, part, overrides.get(name, {}))
    return issues


def inertia_problem(tensor: Any) -> str | None:
    """Why `tensor` is no rigid body's inertia about its centroid, or None if it is."""
    try:
        matrix = np.asarray(tensor, dtype=float)
    except (TypeError, ValueError):
        return "is not a 3x3 matrix of numbers"
    if matrix.shape != (3, 3):
        return "is not a 3x3 matrix of numbers"
    if not np.all(np.isfinite(matrix)):
        return "has a value that is not a finite number"
    scale = float(np.max(np.abs(matrix)))
    if float(np.max(np.abs(matrix - matrix.T))) > _SYMMETRY_TOLERANCE * scale:
        return "is not symmetric"
    low, mid, high = (float(value) for value in np.linalg.eigvalsh(matrix))
    moments = f"{low:g}, {mid:g}, {high:g}"
    if low <= 0:
        return f"is not positive definite (principal moments {moments} kg·m²)"
    if low + mid < high * (1 - _TRIANGLE_SLACK):
        return (
            f"has principal moments {moments} kg·m² that break the triangle inequality "
            "(none may exceed the sum of the other two)"
        )
    return None


def _joint_issues(
    index: int,
    joint: JSONDict,
    parts: Mapping[str, JSONDict],
    root: str,
    names: dict[str, int],
) -> list[Issue]:
    at = f"/joints/{index}"
    name, kind, parent, child = joint["name"], joint["type"], joint["parent"], joint["child"]
    issues: list[Issue] = []
    if name in names:
        issues.append(Issue(f"{at}/name", f"joint name {name!r} is used by joint {names[name]}"))
    names.setdefault(name, index)
    for end in ("parent", "child"):
        if joint[end] not in parts:
            issues.append(Issue(f"{at}/{end}", f"{joint[end]!r} is not a part of the segmentation"))
    if parent == child:
        issues.append(Issue(f"{at}/child", f"part {child!r} cannot be its own parent"))
    elif child == root:
        issues.append(Issue(f"{at}/child", f"part {child!r} is the root; it has no parent"))
    origin = joint.get("origin", {})
    for key in ("xyz", "rpy"):
        if key in origin and not _finite(origin[key]):
            issues.append(Issue(f"{at}/origin/{key}", f"{key} {origin[key]} is not finite"))
    issues += _axis_issues(at, kind, joint.get("axis"))
    issues += _limit_issues(at, kind, joint.get("limit"))
    dynamics = joint.get("dynamics", {})
    for key in DYNAMICS_KEYS:
        if key in dynamics and not _finite([dynamics[key]]):
            issues.append(Issue(f"{at}/dynamics/{key}", f"{key} {dynamics[key]} is not finite"))
    return issues


def _axis_issues(at: str, kind: str, axis: Sequence[float] | None) -> list[Issue]:
    if axis is None:
        return []
    if not _finite(axis):
        return [Issue(f"{at}/axis", f"axis {list(axis)} is not finite")]
    if kind in MOVABLE and math.hypot(*axis) < MIN_AXIS_NORM:
        return [Issue(f"{at}/axis", f"axis {list(axis)} of a {kind} joint has no direction")]
    return []


def _limit_issues(at: str, kind: str, limit: JSONDict | None) -> list[Issue]:
    if kind not in LIMITED:
        if limit is None:
            return []
        return [Issue(f"{at}/limit", f"a {kind} joint has no limits; remove limit {limit}")]
    if limit is None:
        return [Issue(f"{at}/limit", f"a {kind} joint needs a limit ({', '.join(LIMIT_KEYS)})")]
    issues = []
    for key in LIMIT_KEYS:
        if key not in limit:
            issues.append(Issue(f"{at}/limit/{key}", f"a {kind} joint's limit needs {key}"))
        elif not _finite([limit[key]]):
            issues.append(Issue(f"{at}/limit/{key}", f"{key} {limit[key]} is not finite"))
    if not issues and limit["lower"] > limit["upper"]:
        issues.append(
            Issue(
                f"{at}/limit/lower",
                f"lower {limit['lower']:g} is above upper {limit['upper']:g}",
            )
        )
    return issues


def _override_issues(
    index: int, link: JSONDict, parts: Mapping[str, JSONDict], overrides: dict[str, JSONDict]
) -> list[Issue]:
    at, name = f"/links/{index}", link["part"]
    issues = []
    if name not in parts:
        issues.append(Issue(f"{at}/part", f"{name!r} is not a part of the segmentation"))
    elif name in overrides:
        issues.append(Issue(f"{at}/part", f"part {name!r} is listed twice in links"))
    else:
        overrides[name] = link
    mass = link.get("mass_kg")
    if mass is not None and not (_finite([mass]) and mass > 0):
        issues.append(Issue(f"{at}/mass_kg", f"mass_kg {mass} must be a number > 0"))
    if link.get("inertia_kg_m2") is not None:
        problem = inertia_problem(link["inertia_kg_m2"])
        if problem is not None:
            issues.append(Issue(f"{at}/inertia_kg_m2", f"inertia_kg_m2 {problem}"))
    elif mass is not None and name in parts and not _positive(parts[name].get("mass_kg")):
        issues.append(
            Issue(
                at,
                f"part {name!r} has no mass of its own to scale its inertia by; "
                "give inertia_kg_m2 with mass_kg",
            )
        )
    return issues


def _part_issues(name: str, part: JSONDict, override: JSONDict) -> list[Issue]:
    issues = []
    centroid = part.get("centroid_m")
    if centroid is None or not _finite(centroid):
        issues.append(Issue("/links", f"part {name!r} has no finite centroid ({centroid})"))
    mass = part.get("mass_kg")
    if override.get("mass_kg") is None and not _positive(mass):
        issues.append(
            Issue("/links", f"part {name!r} has no mass ({mass} kg); give mass_kg for it in links")
        )
    if override.get("inertia_kg_m2") is None:
        problem = inertia_problem(part.get("inertia_kg_m2"))
        if problem is not None:
            issues.append(
                Issue(
                    "/links",
                    f"the inertia of part {name!r} {problem}; give inertia_kg_m2 for it in links",
                )
            )
    return issues


def _finite(values: Any) -> bool:
    try:
        return bool(np.all(np.isfinite(np.asarray(values, dtype=float))))
    except (TypeError, ValueError):
        return False


def _positive(mass: Any) -> bool:
    return mass is not None and _finite([mass]) and float(mass) > 0
