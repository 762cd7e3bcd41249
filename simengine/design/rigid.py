"""Rigid transforms as URDF writes them: xyz plus roll-pitch-yaw about fixed axes."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from simengine.types import FloatArray

# Below this cos(pitch) the roll and yaw axes coincide (gimbal lock): yaw is set to 0.
_GIMBAL_EPS = 1e-12


def rotation(rpy: Iterable[float]) -> FloatArray:
    """The 3x3 rotation of URDF's rpy: roll about x, then pitch about y, then yaw about z."""
    roll, pitch, yaw = (float(angle) for angle in rpy)
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def transform(xyz: Iterable[float], rpy: Iterable[float]) -> FloatArray:
    """The 4x4 homogeneous transform of an URDF <origin xyz rpy>."""
    matrix = np.eye(4)
    matrix[:3, :3] = rotation(rpy)
    matrix[:3, 3] = [float(value) for value in xyz]
    return matrix


def inverse(matrix: FloatArray) -> FloatArray:
    """The inverse of a rigid 4x4 transform (transpose the rotation, undo the shift)."""
    turn = matrix[:3, :3].T
    result = np.eye(4)
    result[:3, :3] = turn
    result[:3, 3] = -turn @ matrix[:3, 3]
    return result


def rpy(turn: FloatArray) -> tuple[float, float, float]:
    """Roll, pitch and yaw whose `rotation` is the 3x3 rotation `turn`."""
    pitch = math.atan2(-turn[2, 0], math.hypot(turn[0, 0], turn[1, 0]))
    if math.hypot(turn[0, 0], turn[1, 0]) > _GIMBAL_EPS:
        roll = math.atan2(turn[2, 1], turn[2, 2])
        yaw = math.atan2(turn[1, 0], turn[0, 0])
    elif turn[2, 0] < 0:  # pitch = +pi/2: only roll - yaw is defined
        roll, yaw = math.atan2(turn[0, 1], turn[1, 1]), 0.0
    else:  # pitch = -pi/2: only roll + yaw is defined
        roll, yaw = math.atan2(-turn[0, 1], turn[1, 1]), 0.0
    return (roll, pitch, yaw)
