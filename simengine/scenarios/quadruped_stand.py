"""quadruped_stand: the 12-DoF Unitree A1 holds a standing pose under PD position control."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simengine.scenarios.base import Metric, Param, Task, register
from simengine.state import Robot, State, data_path, up_z
from simengine.types import FloatArray

if TYPE_CHECKING:
    from simengine.engine import Engine

STAND_POSE = np.array([0.0, 0.9, -1.8] * 4)  # hip, upper, lower for FR, FL, RR, RL
SPAWN_HEIGHT_M = 0.30
FALL_HEIGHT_M = 0.15
FALL_UP_Z = 0.5  # tilt beyond 60 degrees


@register("quadruped_stand")
class QuadrupedStand(Task):
    title = "Quadruped stand"
    description = (
        "A Unitree A1 (12 actuated joints) is placed just above the floor in a standing pose "
        "with seeded joint offsets and must stand under PD position control; a fall is the base "
        "dropping below 0.15 m or tilting beyond 60 degrees."
    )
    robot = "a1 (pybullet_data/a1/a1.urdf)"
    dof = 12
    default_steps = 720
    reads_observation = False  # open loop: a fixed stand pose
    success_criterion = "No fall during the run."
    position_gain = 0.3
    velocity_gain = 1.0
    params = (
        Param(
            "init_noise_rad",
            "Std of the seeded offsets added to the initial pose.",
            "rad",
            0.05,
            0.0,
            0.5,
        ),
        Param(
            "stand_scale",
            "Scale on the thigh/calf angles of the target pose (1: nominal).",
            None,
            1.0,
            0.5,
            1.5,
        ),
    )
    metrics = (
        Metric("fall_detected", "1 if the robot fell.", "1", "lower_is_better"),
        Metric("fall_time_s", "Time of the fall (run time if none).", "s", "higher_is_better"),
        Metric("mean_base_height_m", "Mean base height.", "m", "neutral"),
        Metric("max_tilt_rad", "Largest tilt of the base from upright.", "rad", "lower_is_better"),
        Metric(
            "joint_tracking_rmse_rad",
            "RMSE between target and actual joint positions.",
            "rad",
            "lower_is_better",
        ),
    )

    def load(self, engine: Engine) -> Robot:
        engine.load_floor()
        robot = engine.load_robot(data_path("a1/a1.urdf"), position=(0.0, 0.0, SPAWN_HEIGHT_M))
        self._target: FloatArray = STAND_POSE * np.array(
            [1.0, self.p["stand_scale"], self.p["stand_scale"]] * 4
        )
        start = STAND_POSE + self.rng.normal(0.0, self.p["init_noise_rad"], robot.dof)
        engine.reset_joints(np.clip(start, robot.lower, robot.upper))
        self._dt = engine.timestep
        self._fall_step: int | None = None
        self._heights: list[float] = []
        self._min_up = 1.0
        self._sq_err = 0.0
        self._count = 0
        return robot

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        return self._target

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        z = float(state.base_position[2])
        up = up_z(state.base_orientation)
        self._heights.append(z)
        self._min_up = min(self._min_up, up)
        err = state.joint_position - self._target
        self._sq_err += float(err @ err)
        self._count += err.size
        if self._fall_step is None and (z < FALL_HEIGHT_M or up < FALL_UP_Z):
            self._fall_step = step

    def task_metrics(self) -> dict[str, float]:
        fell = self._fall_step is not None
        n = len(self._heights)
        fall_time = (self._fall_step + 1 if self._fall_step is not None else n) * self._dt
        tilt = math.acos(min(max(self._min_up, -1.0), 1.0))
        return {
            "fall_detected": float(fell),
            "fall_time_s": fall_time,
            "mean_base_height_m": float(np.mean(self._heights)) if n else 0.0,
            "max_tilt_rad": tilt,
            "joint_tracking_rmse_rad": float(np.sqrt(self._sq_err / self._count))
            if self._count
            else 0.0,
            "success": float(not fell),
            "score": 0.0 if fell else math.exp(-tilt / 0.2),
        }
