"""The joints of a linkage must make one tree holding every part (URDF has no other shape).

pybullet dies on a URDF with two root links, and a closed chain is not expressible in URDF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simengine.design.issue import Issue
from simengine.types import JSONDict


def tree_issues(
    joints: Sequence[JSONDict], parts: Mapping[str, JSONDict], *, root: str
) -> list[Issue]:
    """Second parents, cycles, second roots and parts the root does not reach.

    Joints naming an unknown part, their own child as parent, or the root as child are
    reported by the joint checks and left out here. The last two rules need a known root.
    """
    issues: list[Issue] = []
    parent_joint: dict[str, int] = {}  # child part -> index of the joint that holds it
    for index, joint in enumerate(joints):
        parent, child = joint["parent"], joint["child"]
        if parent not in parts or child not in parts or parent == child or child == root:
            continue
        if child in parent_joint:
            first = joints[parent_joint[child]]
            issues.append(
                Issue(
                    f"/joints/{index}/child",
                    f"part {child!r} has two parents: {first['parent']!r} (joint "
                    f"{first['name']!r}) and {parent!r} (joint {joint['name']!r})",
                )
            )
        else:
            parent_joint[child] = index
    issues += _cycles(joints, parent_joint)
    if root in parts:
        issues += _second_roots(joints, parts, root=root)
        edges = [joints[index] for index in sorted(parent_joint.values())]
        missing = sorted(set(parts) - set(breadth_first(root, edges)))
        if missing:
            issues.append(
                Issue(
                    "/joints",
                    f"parts not connected to root {root!r}: {', '.join(map(repr, missing))}; "
                    "join each with a joint (a fixed one if it does not move)",
                )
            )
    return issues


def breadth_first(root: str, joints: Sequence[JSONDict]) -> list[str]:
    """The parts reached from `root`, breadth-first, each part's children in joint order."""
    children: dict[str, list[str]] = {}
    for joint in joints:
        children.setdefault(joint["parent"], []).append(joint["child"])
    order, seen = [root], {root}
    for name in order:  # `order` grows while it is walked: a queue
        for child in children.get(name, []):
            if child not in seen:
                seen.add(child)
                order.append(child)
    return order


def _cycles(joints: Sequence[JSONDict], parent_joint: dict[str, int]) -> list[Issue]:
    """Each closed chain once, at its first joint; every part has one parent by now."""
    issues = []
    done: set[str] = set()
    for start in parent_joint:
        path: list[str] = []
        node = start
        while node in parent_joint and node not in done and node not in path:
            path.append(node)
            node = joints[parent_joint[node]]["parent"]
        if node in path:
            loop = [parent_joint[part] for part in path[path.index(node) :]]
            issues.append(_cycle(joints, loop))
        done.update(path)
    return issues


def _cycle(joints: Sequence[JSONDict], loop: list[int]) -> Issue:
    """The closed chain of joints `loop`, told from its first joint in request order."""
    first = min(loop)
    down = {joints[index]["parent"]: index for index in loop}
    start = joints[first]["parent"]
    names, chain, index = [], [start], first
    while True:
        names.append(repr(joints[index]["name"]))
        chain.append(joints[index]["child"])
        if chain[-1] == start:
            break
        index = down[chain[-1]]
    return Issue(
        f"/joints/{first}",
        f"joints {', '.join(names)} close a loop {' -> '.join(chain)}; "
        "URDF has no closed chains, so the joints must make a tree",
    )


def _second_roots(
    joints: Sequence[JSONDict], parts: Mapping[str, JSONDict], *, root: str
) -> list[Issue]:
    children = {joint["child"] for joint in joints}
    issues, seen = [], set()
    for index, joint in enumerate(joints):
        parent = joint["parent"]
        if parent in parts and parent != root and parent not in children and parent not in seen:
            seen.add(parent)
            issues.append(
                Issue(
                    f"/joints/{index}/parent",
                    f"part {parent!r} is a second root; only {root!r} may have no parent",
                )
            )
    return issues
