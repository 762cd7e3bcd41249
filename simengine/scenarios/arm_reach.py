"""arm_reach: the KUKA iiwa reaches a sequence of seeded joint-space targets."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simengine.scenarios.base import Metric, Param, Task, register
from simengine.state import Robot, State, data_path
from simengine.types import FloatArray

if TYPE_CHECKING:
    from simengine.engine import Engine


@register("arm_reach")
class ArmReach(Task):
    title = "Arm reach"
    description = (
        "A fixed-base 7-DoF KUKA iiwa under position control reaches a sequence of targets drawn "
        "from the seed inside a fraction of each joint's range; each target is held for an equal "
        "share of the run; the commanded reference moves towards each target at `max_joint_speed`."
    )
    robot = "kuka_iiwa (pybullet_data/kuka_iiwa/model.urdf)"
    dof = 7
    default_steps = 960
    reads_observation = False  # open loop: a scripted reference
    success_criterion = "Mean joint error at the end of each target's window below 0.05 rad."
    params = (
        Param(
            "max_joint_speed",
            "Speed limit of the commanded reference moving towards each target.",
            "rad/s",
            1.5,
            0.1,
            10.0,
        ),
        Param("n_targets", "Number of targets in the run.", None, 4, 1, 50),
        Param(
            "target_range_frac",
            "Fraction of each joint's range targets are drawn from.",
            None,
            0.5,
            0.0,
            1.0,
        ),
    )
    metrics = (
        Metric(
            "joint_tracking_rmse_rad",
            "RMSE between the rate-limited reference and actual joint positions.",
            "rad",
            "lower_is_better",
        ),
        Metric(
            "reach_error_rad",
            "Mean absolute joint error at the end of each target window.",
            "rad",
            "lower_is_better",
        ),
        Metric(
            "ee_position_error_m",
            "End-effector distance to the last target's pose at the end.",
            "m",
            "lower_is_better",
        ),
    )

    def load(self, engine: Engine) -> Robot:
        engine.load_floor()
        robot = engine.load_robot(data_path("kuka_iiwa/model.urdf"), fixed_base=True)
        n = int(self.p["n_targets"])
        frac = self.p["target_range_frac"]
        self._targets: FloatArray = self.rng.uniform(
            robot.lower * frac, robot.upper * frac, (n, robot.dof)
        )
        self._window = max(1, -(-self.steps // n))
        self._sq_err = 0.0
        self._count = 0
        self._end_errors: list[float] = []
        self._engine = engine
        self._last_q = np.zeros(robot.dof)
        self._last_step = 0
        self._command = engine.read_state().joint_position.copy()
        self._max_delta = self.p["max_joint_speed"] * engine.timestep
        return robot

    def _target(self, step: int) -> FloatArray:
        index = min(step // self._window, len(self._targets) - 1)
        target: FloatArray = self._targets[index]
        return target

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        # A rate-limited reference: the arm is asked to move at a realistic joint speed.
        delta = np.clip(self._target(step) - self._command, -self._max_delta, self._max_delta)
        self._command = self._command + delta
        return self._command

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        err = state.joint_position - self._command
        self._sq_err += float(err @ err)
        self._count += err.size
        self._last_q = state.joint_position
        if (step + 1) % self._window == 0 or step + 1 == self.steps:
            reach = state.joint_position - self._target(step)
            self._end_errors.append(float(np.mean(np.abs(reach))))
        self._last_step = step

    def task_metrics(self) -> dict[str, float]:
        rmse = float(np.sqrt(self._sq_err / self._count)) if self._count else 0.0
        reach = float(np.mean(self._end_errors)) if self._end_errors else 0.0
        ee = _ee_error(self._engine, self._last_q, self._target(self._last_step))
        success = bool(self._end_errors) and reach < 0.05
        return {
            "joint_tracking_rmse_rad": rmse,
            "reach_error_rad": reach,
            "ee_position_error_m": ee,
            "success": float(success),
            "score": math.exp(-reach / 0.05),
        }


def _ee_error(engine: Engine, q: FloatArray, target: FloatArray) -> float:
    """Distance between the end effector at `q` and at `target` (forward kinematics)."""
    robot = engine.robot
    assert robot is not None
    ee = robot.joint_indices[-1]
    # Only called after the last step: teleporting the arm no longer affects the run.
    reached = engine.link_position(ee, joint_positions=q)
    wanted = engine.link_position(ee, joint_positions=target)
    return float(np.linalg.norm(reached - wanted))
