"""URDF's rpy both ways, including gimbal lock."""

from __future__ import annotations

import math

import defusedxml.ElementTree as SafeET
import numpy as np
import pytest

from simengine.design import rigid
from simengine.imports.frames import origin


def test_rotation_is_the_one_the_urdf_reader_uses() -> None:
    element = SafeET.fromstring('<joint><origin xyz="1 2 3" rpy="0.3 -0.7 1.1"/></joint>')
    assert rigid.transform([1, 2, 3], [0.3, -0.7, 1.1]) == pytest.approx(origin(element))


@pytest.mark.parametrize("seed", range(20))
def test_rpy_gives_back_the_rotation(seed: int) -> None:
    angles = np.random.default_rng(seed).uniform(-math.pi, math.pi, 3)
    turn = rigid.rotation(angles)
    assert rigid.rotation(rigid.rpy(turn)) == pytest.approx(turn, abs=1e-12)


@pytest.mark.parametrize("pitch", [math.pi / 2, -math.pi / 2])
def test_rpy_at_gimbal_lock(pitch: float) -> None:
    turn = rigid.rotation([0.4, pitch, -0.9])
    assert rigid.rotation(rigid.rpy(turn)) == pytest.approx(turn, abs=1e-12)


def test_inverse_undoes_the_transform() -> None:
    matrix = rigid.transform([0.1, -0.2, 0.3], [0.3, -0.7, 1.1])
    assert rigid.inverse(matrix) @ matrix == pytest.approx(np.eye(4), abs=1e-15)
