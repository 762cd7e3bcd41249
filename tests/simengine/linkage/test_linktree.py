"""The joints must make one tree from the root that holds every part."""

from __future__ import annotations

from typing import Any

from simengine.design.linkage import validate
from simengine.design.linktree import breadth_first
from tests.simengine.linkage.builders import arm_parts, arm_request, box_part


def pointers(request: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    return [issue.pointer for issue in validate(request, parts)]


def fixed(name: str, parent: str, child: str) -> dict[str, Any]:
    return {"name": name, "type": "fixed", "parent": parent, "child": child}


def with_parts(*names: str) -> dict[str, Any]:
    parts = arm_parts()
    for name in names:
        parts[name] = box_part(name, (0.0, 0.0, 0.65), (0.05, 0.05, 0.7))
    return parts


def test_a_part_that_is_the_child_of_two_joints_has_two_parents() -> None:
    request = arm_request()
    request["joints"].append(fixed("weld", "base", "forearm"))
    issues = validate(request, arm_parts())
    assert [issue.pointer for issue in issues] == ["/joints/2/child"]
    assert issues[0].detail.startswith("part 'forearm' has two parents: 'upper_arm'")


def test_a_closed_chain_is_reported_at_its_first_joint_with_the_loop() -> None:
    request = arm_request()
    request["joints"] = [
        fixed("a", "upper_arm", "forearm"),
        fixed("b", "hand", "upper_arm"),
        fixed("c", "forearm", "hand"),
    ]
    issues = validate(request, with_parts("hand"))
    assert [issue.pointer for issue in issues] == ["/joints/0", "/joints"]
    assert "'a', 'c', 'b'" in issues[0].detail
    assert "upper_arm -> forearm -> hand -> upper_arm" in issues[0].detail


def test_a_cycle_through_the_root_is_the_root_having_a_parent() -> None:
    request = arm_request()
    request["joints"].append(fixed("back", "forearm", "base"))
    assert pointers(request, arm_parts()) == ["/joints/2/child"]


def test_a_part_with_children_but_no_parent_is_a_second_root() -> None:
    request = arm_request()
    request["joints"].append(fixed("grip", "hand", "claw"))
    issues = validate(request, with_parts("hand", "claw"))
    assert [issue.pointer for issue in issues] == ["/joints/2/parent", "/joints"]
    assert issues[0].detail == "part 'hand' is a second root; only 'base' may have no parent"


def test_every_part_must_be_in_the_tree_named_in_order() -> None:
    issues = validate(arm_request(), with_parts("hand", "claw"))
    assert [issue.pointer for issue in issues] == ["/joints"]
    assert issues[0].detail.startswith("parts not connected to root 'base': 'claw', 'hand';")


def test_the_tree_is_walked_breadth_first_children_in_joint_order() -> None:
    joints = [fixed("1", "base", "a"), fixed("2", "a", "c"), fixed("3", "base", "b")]
    assert breadth_first("base", joints) == ["base", "a", "b", "c"]
