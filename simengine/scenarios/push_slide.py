"""push_slide: a small box is pushed, then slides to rest; displacement depends on friction."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simengine.scenarios.base import Metric, Param, Task, register
from simengine.state import Robot, State, data_path
from simengine.types import FloatArray

if TYPE_CHECKING:
    from simengine.engine import Engine

STOPPED_SPEED = 0.01  # m/s


@register("push_slide")
class PushSlide(Task):
    title = "Push and slide"
    description = (
        "A 5 cm, 0.1 kg box on the floor is pushed along +x (seeded small heading error) with a "
        "constant force for a short time, then slides to rest. Its slide distance depends on "
        "the effective friction (floor x robot coefficients) and the mass scale."
    )
    robot = "box (pybullet_data/cube_small.urdf)"
    dof = 0
    default_steps = 480
    reads_observation = False  # open loop: a scripted push
    success_criterion = "The box stops within 25% of `target_distance_m` from its start."
    params = (
        Param("push_force_n", "Horizontal push force.", "N", 1.5, 0.0, 50.0),
        Param("push_duration_s", "How long the push lasts.", "s", 0.2, 0.0, 10.0),
        Param(
            "heading_std_rad", "Std of the seeded heading error of the push.", "rad", 0.02, 0.0, 1.0
        ),
        Param("target_distance_m", "Distance the box should slide.", "m", 0.3, 0.01, 100.0),
    )
    metrics = (
        Metric(
            "slide_distance_m",
            "Horizontal distance from start to the final position.",
            "m",
            "neutral",
        ),
        Metric("distance_error_m", "|slide distance - target distance|.", "m", "lower_is_better"),
        Metric("stopped", "1 if the box is at rest at the end.", "1", "higher_is_better"),
    )

    def load(self, engine: Engine) -> Robot:
        engine.load_floor()
        robot = engine.load_robot(data_path("cube_small.urdf"))
        engine.rest_on_floor(robot.body)
        heading = float(self.rng.normal(0.0, self.p["heading_std_rad"]))
        f = self.p["push_force_n"]
        self._force = (f * np.cos(heading), f * np.sin(heading), 0.0)
        self._push_steps = round(self.p["push_duration_s"] / engine.timestep)
        self._start = engine.read_state().base_position[:2].copy()
        self._end = self._start.copy()
        self._speed = 0.0
        return robot

    def initial_action(self, engine: Engine) -> FloatArray:
        return np.zeros(0)

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        if step < self._push_steps:
            assert engine.robot is not None
            engine.apply_base_force(engine.robot.body, self._force)
        return np.zeros(0)

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        self._end = state.base_position[:2].copy()
        self._speed = float(np.linalg.norm(state.base_linear_velocity))

    def task_metrics(self) -> dict[str, float]:
        distance = float(np.linalg.norm(self._end - self._start))
        target = self.p["target_distance_m"]
        error = abs(distance - target)
        stopped = self._speed < STOPPED_SPEED
        return {
            "slide_distance_m": distance,
            "distance_error_m": error,
            "stopped": float(stopped),
            "success": float(stopped and error <= 0.25 * target),
            "score": math.exp(-error / target),
        }
