"""Each rule of a linkage request, with the exact JSON pointer it reports."""

from __future__ import annotations

import math
from typing import Any

import pytest

from simengine.design.linkage import validate
from tests.simengine.linkage.builders import arm_parts, arm_request

NAN, INF = math.nan, math.inf
GOOD_INERTIA = [[0.02, 0.0, 0.0], [0.0, 0.03, 0.0], [0.0, 0.0, 0.04]]


def pointers(request: dict[str, Any], parts: dict[str, Any] | None = None) -> list[str]:
    return [issue.pointer for issue in validate(request, arm_parts() if parts is None else parts)]


def test_a_valid_arm_has_no_issue() -> None:
    assert validate(arm_request(), arm_parts()) == []


def test_an_unknown_root() -> None:
    request = arm_request()
    request["root"] = "nope"
    issues = validate(request, arm_parts())
    assert [issue.pointer for issue in issues] == ["/root"]
    assert "'nope'" in issues[0].detail


@pytest.mark.parametrize("end", ["parent", "child"])
def test_an_unknown_part_in_a_joint(end: str) -> None:
    request = arm_request()
    request["joints"][1][end] = "nope"
    # ... and the forearm is no longer connected
    assert pointers(request) == [f"/joints/1/{end}", "/joints"]


def test_an_unknown_part_in_links() -> None:
    request = arm_request()
    request["links"] = [{"part": "nope", "mass_kg": 1.0}]
    assert pointers(request) == ["/links/0/part"]


def test_a_duplicate_joint_name() -> None:
    request = arm_request()
    request["joints"][1]["name"] = "shoulder"
    issues = validate(request, arm_parts())
    assert [issue.pointer for issue in issues] == ["/joints/1/name"]
    assert issues[0].detail == "joint name 'shoulder' is used by joint 0"


def test_a_part_listed_twice_in_links() -> None:
    request = arm_request()
    request["links"] = [{"part": "forearm", "mass_kg": 1.0}, {"part": "forearm", "mass_kg": 2.0}]
    assert pointers(request) == ["/links/1/part"]


def test_the_root_as_a_child() -> None:
    request = arm_request()
    request["joints"].append({"name": "x", "type": "fixed", "parent": "forearm", "child": "base"})
    assert pointers(request) == ["/joints/2/child"]


def test_a_part_as_its_own_parent() -> None:
    request = arm_request()
    request["joints"][1]["parent"] = "forearm"
    assert pointers(request) == ["/joints/1/child", "/joints"]


@pytest.mark.parametrize("kind", ["revolute", "prismatic", "continuous"])
@pytest.mark.parametrize("axis", [[0.0, 0.0, 0.0], [1e-10, 0.0, 0.0]])
def test_a_movable_joint_without_an_axis_direction(kind: str, axis: list[float]) -> None:
    request = arm_request()
    request["joints"][0].update(type=kind, axis=axis)
    if kind == "continuous":
        del request["joints"][0]["limit"]
    assert pointers(request) == ["/joints/0/axis"]


def test_a_fixed_joint_may_have_a_zero_axis() -> None:
    request = arm_request()
    request["joints"][0].update(type="fixed", axis=[0.0, 0.0, 0.0])
    del request["joints"][0]["limit"]
    assert pointers(request) == []


@pytest.mark.parametrize("kind", ["revolute", "prismatic"])
def test_a_limited_joint_without_a_limit(kind: str) -> None:
    request = arm_request()
    request["joints"][0]["type"] = kind
    del request["joints"][0]["limit"]
    assert pointers(request) == ["/joints/0/limit"]


@pytest.mark.parametrize("kind", ["continuous", "fixed"])
def test_a_limit_on_a_joint_without_limits(kind: str) -> None:
    request = arm_request()
    request["joints"][0]["type"] = kind
    assert pointers(request) == ["/joints/0/limit"]


def test_a_limit_missing_a_value() -> None:
    request = arm_request()
    del request["joints"][0]["limit"]["effort"]
    assert pointers(request) == ["/joints/0/limit/effort"]


def test_lower_above_upper() -> None:
    request = arm_request()
    request["joints"][1]["limit"].update(lower=0.5, upper=-0.5)
    issues = validate(request, arm_parts())
    assert [issue.pointer for issue in issues] == ["/joints/1/limit/lower"]
    assert issues[0].detail == "lower 0.5 is above upper -0.5"


@pytest.mark.parametrize("mass", [0.0, -1.0])
def test_an_override_mass_that_is_not_positive(mass: float) -> None:
    request = arm_request()
    request["links"] = [{"part": "forearm", "mass_kg": mass}]
    assert pointers(request) == ["/links/0/mass_kg"]


def test_a_part_without_mass_needs_an_override() -> None:
    parts = arm_parts()
    parts["forearm"]["mass_kg"] = 0.0
    issues = validate(arm_request(), parts)
    assert [issue.pointer for issue in issues] == ["/links"]
    assert issues[0].detail == "part 'forearm' has no mass (0.0 kg); give mass_kg for it in links"
    request = arm_request()
    request["links"] = [{"part": "forearm", "mass_kg": 1.0, "inertia_kg_m2": GOOD_INERTIA}]
    assert pointers(request, parts) == []


def test_an_override_mass_alone_cannot_scale_the_inertia_of_a_massless_part() -> None:
    parts = arm_parts()
    parts["forearm"]["mass_kg"] = 0.0
    request = arm_request()
    request["links"] = [{"part": "forearm", "mass_kg": 1.0}]
    assert pointers(request, parts) == ["/links/0"]


BAD_INERTIAS = {
    "is not symmetric": [[0.02, 0.001, 0.0], [0.0, 0.03, 0.0], [0.0, 0.0, 0.04]],
    "is not positive definite": [[0.02, 0.0, 0.0], [0.0, -0.03, 0.0], [0.0, 0.0, 0.04]],
    "is not positive definite (principal moments 0, 0, 0 kg·m²)": [[0.0] * 3] * 3,
    "break the triangle inequality": [[0.01, 0.0, 0.0], [0.0, 0.01, 0.0], [0.0, 0.0, 0.03]],
    "is not a finite number": [[0.02, NAN, 0.0], [NAN, 0.03, 0.0], [0.0, 0.0, 0.04]],
    "is not a 3x3 matrix": [[0.02, 0.0], [0.0, 0.03]],
}


@pytest.mark.parametrize(("problem", "tensor"), BAD_INERTIAS.items(), ids=range(len(BAD_INERTIAS)))
def test_an_impossible_override_inertia(problem: str, tensor: list[list[float]]) -> None:
    request = arm_request()
    request["links"] = [{"part": "forearm", "inertia_kg_m2": tensor}]
    issues = validate(request, arm_parts())
    assert [issue.pointer for issue in issues] == ["/links/0/inertia_kg_m2"]
    assert problem in issues[0].detail


@pytest.mark.parametrize(("problem", "tensor"), BAD_INERTIAS.items(), ids=range(len(BAD_INERTIAS)))
def test_an_impossible_part_inertia_needs_an_override(
    problem: str, tensor: list[list[float]]
) -> None:
    parts = arm_parts()
    parts["forearm"]["inertia_kg_m2"] = tensor
    issues = validate(arm_request(), parts)
    assert [issue.pointer for issue in issues] == ["/links"]
    assert issues[0].detail.startswith("the inertia of part 'forearm' ")
    assert problem in issues[0].detail
    assert issues[0].detail.endswith("; give inertia_kg_m2 for it in links")
    request = arm_request()
    request["links"] = [{"part": "forearm", "inertia_kg_m2": GOOD_INERTIA}]
    assert pointers(request, parts) == []


@pytest.mark.parametrize(
    "tensor",
    [
        # symmetric up to rounding
        [[0.02, 1e-14, 0.0], [0.0, 0.03, 0.0], [0.0, 0.0, 0.04]],
        # a thin plate: the triangle inequality holds with equality
        [[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.03 * (1 + 1e-9)]],
    ],
)
def test_inertias_at_the_tolerances_pass(tensor: list[list[float]]) -> None:
    request = arm_request()
    request["links"] = [{"part": "forearm", "inertia_kg_m2": tensor}]
    assert pointers(request) == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("/joints/1/origin/xyz", lambda r, p: r["joints"][1]["origin"].update(xyz=[0, NAN, 0])),
        ("/joints/1/origin/rpy", lambda r, p: r["joints"][1]["origin"].update(rpy=[INF, 0, 0])),
        ("/joints/1/axis", lambda r, p: r["joints"][1].update(axis=[NAN, 1.0, 0.0])),
        ("/joints/1/limit/upper", lambda r, p: r["joints"][1]["limit"].update(upper=NAN)),
        ("/joints/1/dynamics/damping", lambda r, p: r["joints"][1]["dynamics"].update(damping=INF)),
        ("/links/0/mass_kg", lambda r, p: r.update(links=[{"part": "base", "mass_kg": NAN}])),
        ("/links", lambda r, p: p["base"].update(mass_kg=INF)),
        ("/links", lambda r, p: p["base"].update(centroid_m=[0.0, NAN, 0.0])),
    ],
)
def test_a_value_that_is_not_finite(where: str, change: Any) -> None:
    request, parts = arm_request(), arm_parts()
    change(request, parts)
    assert pointers(request, parts) == [where]


def test_every_issue_is_returned_in_a_fixed_order() -> None:
    request = arm_request()
    request["root"] = "nope"
    request["joints"][0]["limit"]["lower"] = 9.0
    request["joints"][1].update(name="shoulder", axis=[0.0, 0.0, 0.0])
    request["links"] = [{"part": "forearm", "mass_kg": -1.0}]
    parts = arm_parts()
    parts["base"]["mass_kg"] = 0.0
    expected = [
        "/root",
        "/joints/0/limit/lower",
        "/joints/1/name",
        "/joints/1/axis",
        "/links/0/mass_kg",
        "/links",
    ]
    assert pointers(request, parts) == expected
    assert validate(request, parts) == validate(request, parts)
