"""urdf_rollout: any URDF, every movable joint swept sinusoidally inside its limits."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simengine.scenarios.base import Metric, Param, Task, register
from simengine.state import Robot, State, data_path, up_z
from simengine.types import FloatArray

if TYPE_CHECKING:
    from simengine.engine import Engine

SWEEP_ROWS = 256  # steps of the sweep computed together


@register("urdf_rollout")
class UrdfRollout(Task):
    title = "URDF rollout"
    description = (
        "Loads the given URDF (default: r2d2) resting on the floor and sweeps every movable "
        "joint with a sine inside its limits, each joint with a seeded phase; the commanded "
        "reference is rate-limited to `max_joint_speed`."
    )
    robot = "r2d2 (pybullet_data/r2d2.urdf) unless `urdf_path` is given"
    dof = None
    accepts_urdf = True
    default_steps = 240
    reads_observation = False  # open loop: a scripted reference
    success_criterion = "Joint tracking RMSE below `tolerance_rad` and the base stays upright."
    params = (
        Param(
            "amplitude_frac",
            "Sweep amplitude as a fraction of each joint's half range.",
            None,
            0.5,
            0.0,
            1.0,
        ),
        Param(
            "max_joint_speed",
            "Speed limit of the commanded reference (it starts at the initial pose).",
            "rad/s",
            3.0,
            0.1,
            50.0,
        ),
        Param("frequency_hz", "Sweep frequency.", "Hz", 0.5, 0.0, 10.0),
        Param(
            "fixed_base", "1: bolt the base to the world; 0: free base on the floor.", None, 0, 0, 1
        ),
        Param(
            "tolerance_rad", "Tracking RMSE below which the run succeeds.", "rad", 0.2, 0.0, 10.0
        ),
    )
    metrics = (
        Metric(
            "joint_tracking_rmse_rad",
            "RMSE between commanded and actual joint positions.",
            "rad",
            "lower_is_better",
        ),
        Metric("max_joint_torque", "Largest absolute joint torque/force.", None, "lower_is_better"),
    )

    def load(self, engine: Engine) -> Robot:
        engine.load_floor()
        path = self.urdf_path or data_path("r2d2.urdf")
        robot = engine.load_robot(path, fixed_base=self.p["fixed_base"] >= 0.5)
        if self.p["fixed_base"] < 0.5:
            engine.rest_on_floor(robot.body)
        self._mid = (robot.lower + robot.upper) / 2
        self._amp = (robot.upper - robot.lower) / 2 * self.p["amplitude_frac"]
        self._phase = self.rng.uniform(0.0, 2 * np.pi, robot.dof)
        self._omega = 2 * np.pi * self.p["frequency_hz"]
        self._dt = engine.timestep
        self._sweep = np.empty((0, robot.dof))
        self._sweep_begin = 0  # the step of `_sweep`'s first row
        self._sq_err = 0.0
        self._count = 0
        self._abs_tau = np.zeros(robot.dof)  # per joint, the largest |torque| so far
        self._orientation = engine.read_state().base_orientation
        self._last = engine.read_state().joint_position.copy()
        self._max_delta = self.p["max_joint_speed"] * engine.timestep
        return robot

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        row = step - self._sweep_begin
        if not 0 <= row < len(self._sweep):
            self._sweep, self._sweep_begin, row = self._sweep_rows(step), step, 0
        sweep = self._sweep[row]
        # Rate-limited so that the first steps do not command a jump to the sweep
        # (np.minimum/np.maximum: the same values as np.clip, without its Python wrapper).
        delta = np.minimum(np.maximum(sweep - self._last, -self._max_delta), self._max_delta)
        self._last = self._last + delta
        return self._last

    def _sweep_rows(self, first: int) -> FloatArray:
        """The sweep of up to `SWEEP_ROWS` steps from `first` at once: element by element
        the same arithmetic as one step at a time, in a few array operations instead of
        four a step."""
        count = max(1, min(SWEEP_ROWS, self.steps - first))
        t = (np.arange(first, first + count) + 1) * self._dt
        rows: FloatArray = self._mid + self._amp * np.sin(self._omega * t[:, None] + self._phase)
        return rows

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        err = state.joint_position - self._last
        self._sq_err += float(err @ err)
        self._count += err.size
        np.maximum(self._abs_tau, np.abs(state.joint_torque), out=self._abs_tau)
        self._orientation = state.base_orientation  # only the last one is scored

    def task_metrics(self) -> dict[str, float]:
        rmse = float(np.sqrt(self._sq_err / self._count)) if self._count else 0.0
        success = rmse < self.p["tolerance_rad"] and up_z(self._orientation) > 0.5
        return {
            "joint_tracking_rmse_rad": rmse,
            "max_joint_torque": float(self._abs_tau.max(initial=0.0)),
            "success": float(success),
            "score": math.exp(-rmse / 0.1),
        }
