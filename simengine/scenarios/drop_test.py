"""drop_test: r2d2 dropped onto the floor; measures bounce and settling."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simengine.scenarios.base import Metric, Param, Task, register
from simengine.state import Robot, State, data_path, up_z
from simengine.types import FloatArray

if TYPE_CHECKING:
    from simengine.engine import Engine

SETTLED_SPEED = 0.05  # m/s
R2D2_ORIGIN_ABOVE_BOTTOM = 0.302  # m, from r2d2.urdf's AABB


@register("drop_test")
class DropTest(Task):
    title = "Drop test"
    description = (
        "r2d2 is released above the floor with a small seeded tilt, joints holding their pose; "
        "measures the rebound after the first impact and the time the body takes to come to rest."
    )
    robot = "r2d2 (pybullet_data/r2d2.urdf)"
    dof = 8
    default_steps = 480
    reads_observation = False  # open loop: holds the joints still
    success_criterion = (
        "The body comes to rest (speed < 0.05 m/s until the end) and stays upright "
        "(up axis z > 0.8)."
    )
    params = (
        Param(
            "drop_height_m",
            "Height of the robot's lowest point above the floor.",
            "m",
            0.5,
            0.0,
            5.0,
        ),
        Param("tilt_std_rad", "Std of the seeded initial roll and pitch.", "rad", 0.05, 0.0, 0.5),
    )
    metrics = (
        Metric(
            "rebound_height_m", "Highest base rise after the first floor contact.", "m", "neutral"
        ),
        Metric(
            "settle_time_s",
            "Time after which the base stays below 0.05 m/s (run time if never).",
            "s",
            "lower_is_better",
        ),
        Metric("final_height_m", "Base height at the end.", "m", "neutral"),
    )

    def load(self, engine: Engine) -> Robot:
        engine.load_floor()
        roll, pitch = self.rng.normal(0.0, self.p["tilt_std_rad"], 2)
        orn = _quat_from_rp(float(roll), float(pitch))
        z = self.p["drop_height_m"] + R2D2_ORIGIN_ABOVE_BOTTOM
        robot = engine.load_robot(data_path("r2d2.urdf"), position=(0.0, 0.0, z), orientation=orn)
        self._hold = np.zeros(robot.dof)
        self._z: list[float] = []
        self._speed: list[float] = []
        self._first_contact: int | None = None
        self._up = 1.0
        self._dt = engine.timestep
        return robot

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        return self._hold

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        self._z.append(float(state.base_position[2]))
        self._speed.append(float(np.linalg.norm(state.base_linear_velocity)))
        if self._first_contact is None and engine.contact_count() > 0:
            self._first_contact = step
        self._up = up_z(state.base_orientation)

    def task_metrics(self) -> dict[str, float]:
        z = np.array(self._z)
        speed = np.array(self._speed)
        rebound = 0.0
        if self._first_contact is not None:
            after = z[self._first_contact :]
            rebound = float(max(0.0, after.max() - after[0]))
        moving = np.nonzero(speed >= SETTLED_SPEED)[0]
        settled = len(speed) > 0 and (len(moving) == 0 or moving[-1] < len(speed) - 1)
        settle_steps = 0 if len(moving) == 0 else int(moving[-1]) + 1
        settle_time = settle_steps * self._dt if settled else len(speed) * self._dt
        success = settled and self._up > 0.8
        return {
            "rebound_height_m": rebound,
            "settle_time_s": settle_time,
            "final_height_m": float(z[-1]) if len(z) else 0.0,
            "success": float(success),
            "score": 1.0 / (1.0 + settle_time) if success else 0.0,
        }


def _quat_from_rp(roll: float, pitch: float) -> tuple[float, float, float, float]:
    cr, sr = np.cos(roll / 2), np.sin(roll / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    return (float(sr * cp), float(cr * sp), float(-sr * sp), float(cr * cp))
