from __future__ import annotations

import math

import defusedxml.ElementTree as SafeET
import numpy as np
import pytest

from simengine.imports.frames import link_frames, origin


@pytest.mark.parametrize(
    ("rpy", "x_goes_to"),
    [
        ("0 0 0", [1, 0, 0]),
        (f"0 0 {math.pi / 2}", [0, 1, 0]),  # yaw
        (f"0 {math.pi / 2} 0", [0, 0, -1]),  # pitch
        (f"{math.pi / 2} 0 {math.pi / 2}", [0, 1, 0]),  # roll leaves x alone, then yaw
    ],
)
def test_rpy_turns_x_as_urdf_says(rpy: str, x_goes_to: list[float]) -> None:
    element = SafeET.fromstring(f'<joint><origin xyz="1 2 3" rpy="{rpy}"/></joint>')
    transform = origin(element)
    assert transform[:3, 0] == pytest.approx(x_goes_to, abs=1e-12)
    assert transform[:3, 3] == pytest.approx([1, 2, 3])


def test_roll_then_pitch_then_yaw_about_fixed_axes() -> None:
    roll, pitch, yaw = 0.3, -0.7, 1.1
    element = SafeET.fromstring(f'<visual><origin rpy="{roll} {pitch} {yaw}"/></visual>')

    def turn(axis: int, angle: float) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        i, j = [(1, 2), (2, 0), (0, 1)][axis]
        m = np.eye(3)
        m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
        return m

    expected = turn(2, yaw) @ turn(1, pitch) @ turn(0, roll)
    assert origin(element)[:3, :3] == pytest.approx(expected)


def test_frames_chain_at_zero_joints() -> None:
    robot = SafeET.fromstring(
        "<robot><link name='base'/><link name='arm'/><link name='hand'/>"
        "<joint name='b' type='revolute'><parent link='arm'/><child link='hand'/>"
        "<origin xyz='0 0 0.5'/></joint>"
        "<joint name='a' type='revolute'><parent link='base'/><child link='arm'/>"
        f"<origin xyz='1 0 0' rpy='0 0 {math.pi / 2}'/></joint></robot>"
    )
    frames = link_frames(robot)
    assert frames["base"] == pytest.approx(np.eye(4))
    assert frames["hand"][:3, 3] == pytest.approx([1, 0, 0.5])
    assert frames["hand"][:3, 0] == pytest.approx([0, 1, 0], abs=1e-12)
