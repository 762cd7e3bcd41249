"""Inertials and joint limits pybullet accepts silently are refused when asked for."""

from __future__ import annotations

import pytest

from simengine.assetbase import AssetLimits, AssetRejected
from simengine.urdfcheck import parse_urdf


def robot(inertial: str, limit: str = 'lower="-1" upper="1"') -> bytes:
    return (
        f'<robot name="r"><link name="a"><inertial>{inertial}</inertial></link><link name="b"/>'
        f'<joint name="j" type="prismatic"><parent link="a"/><child link="b"/>'
        f'<limit {limit} effort="1" velocity="1"/></joint></robot>'
    ).encode()


def inertia(ixx: float = 1, iyy: float = 1, izz: float = 1, ixy: float = 0) -> str:
    return (
        f'<mass value="1"/><inertia ixx="{ixx}" ixy="{ixy}" ixz="0" iyy="{iyy}" iyz="0" '
        f'izz="{izz}"/>'
    )


@pytest.mark.parametrize(
    "inertial",
    [
        inertia(),
        inertia(0.016667, 0.016667, 0.03),  # rounded box moments: 0.033334 >= 0.03
        inertia(1, 1, 2),  # a flat disc: the triangle inequality holds with equality
        '<mass value="2"/>',
    ],
)
def test_sound_inertials_pass(inertial: str) -> None:
    parse_urdf(robot(inertial), limits=AssetLimits(), physics=True)


@pytest.mark.parametrize(
    ("inertial", "element", "text"),
    [
        ('<mass value="0"/>', "link[1] 'a'/inertial/mass@value", "> 0 kg"),
        (inertia(ixx=0), "link[1] 'a'/inertial/inertia", "must all be > 0"),
        (inertia(ixx=-1), "link[1] 'a'/inertial/inertia", "must all be > 0"),
        (inertia(izz=2.1), "link[1] 'a'/inertial/inertia", "triangle inequality"),
        (inertia(ixy=1.5), "link[1] 'a'/inertial/inertia", "not positive definite"),
    ],
)
def test_impossible_inertials_are_refused(inertial: str, element: str, text: str) -> None:
    with pytest.raises(AssetRejected, match=text) as caught:
        parse_urdf(robot(inertial), limits=AssetLimits(), physics=True)
    assert caught.value.element == element
    parse_urdf(robot(inertial), limits=AssetLimits())  # without physics: accepted as before


def test_a_joint_whose_lower_limit_is_above_its_upper_one() -> None:
    data = robot(inertia(), limit='lower="0.5" upper="-0.5"')
    with pytest.raises(AssetRejected, match=r"lower limit \(0.5\) is above") as caught:
        parse_urdf(data, limits=AssetLimits(), physics=True)
    assert caught.value.element == "joint[1] 'j'/limit"
