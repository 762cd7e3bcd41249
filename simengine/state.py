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


@dataclass(slots=True)  # not frozen: built on every step, and frozen init costs ~1 us
class State:
    """True state of the robot after a step (float64, SI units); treat it as read-only."""

    base_position: FloatArray
    base_orientation: FloatArray
    base_linear_velocity: FloatArray
    base_angular_velocity: FloatArray
    joint_position: FloatArray
    joint_velocity: FloatArray
    joint_torque: FloatArray
    flat: FloatArray  # every field above, in order; the fields are views into it
    base_rpy: tuple[float, float, float]  # roll, pitch, yaw of base_orientation


def data_path(name: str) -> str:
    """Absolute path of a file shipped in `pybullet_data`."""
    return os.path.join(pybullet_data.getDataPath(), name)


def up_z(quaternion: FloatArray) -> float:
    """z component of the body's up axis in the world frame (1 upright, 0 on its side)."""
    x, y = float(quaternion[0]), float(quaternion[1])
    return 1.0 - 2.0 * (x * x + y * y)
