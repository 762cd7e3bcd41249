"""Plain state types and helpers shared by the engine and the tasks (no pybullet import).

Keeping them apart lets the API process list scenarios and validate specs without loading
the physics engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pybullet_data

from simengine.types import FloatArray


@dataclass(frozen=True)
class Robot:
    """The robot body and its movable joints (the order of every joint vector)."""

    body: int
    joint_indices: tuple[int, ...]
    joint_names: tuple[str, ...]
    lower: FloatArray
    upper: FloatArray
    max_force: FloatArray

    @property
    def dof(self) -> int:
        return len(self.joint_indices)


class State:
    """True state of the robot after a step (float64, SI units); treat it as read-only.

    Built on every step, so only `flat` (one array), the joint count and the Euler angles
    are stored; each field is a view into `flat`, sliced when read (most steps read only
    a few of them).
    """

    __slots__ = ("base_rpy", "dof", "flat")

    def __init__(self, flat: FloatArray, dof: int, base_rpy: tuple[float, float, float]) -> None:
        self.flat = flat  # base pose, base velocities, joint positions, velocities, torques
        self.dof = dof
        self.base_rpy = base_rpy  # roll, pitch, yaw of base_orientation

    @property
    def base_position(self) -> FloatArray:
        return self.flat[0:3]

    @property
    def base_orientation(self) -> FloatArray:
        return self.flat[3:7]

    @property
    def base_linear_velocity(self) -> FloatArray:
        return self.flat[7:10]

    @property
    def base_angular_velocity(self) -> FloatArray:
        return self.flat[10:13]

    @property
    def joint_position(self) -> FloatArray:
        return self.flat[13 : 13 + self.dof]

    @property
    def joint_velocity(self) -> FloatArray:
        return self.flat[13 + self.dof : 13 + 2 * self.dof]

    @property
    def joint_torque(self) -> FloatArray:
        return self.flat[13 + 2 * self.dof : 13 + 3 * self.dof]


def data_path(name: str) -> str:
    """Absolute path of a file shipped in `pybullet_data`."""
    return os.path.join(pybullet_data.getDataPath(), name)


def up_z(quaternion: FloatArray) -> float:
    """z component of the body's up axis in the world frame (1 upright, 0 on its side)."""
    x, y = float(quaternion[0]), float(quaternion[1])
    return 1.0 - 2.0 * (x * x + y * y)
