"""The Task side of a scenario (as in dm_control) and the scenario registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simengine.state import Robot, State
from simengine.types import FloatArray, JSONDict

if TYPE_CHECKING:
    from simengine.engine import Engine


@dataclass(frozen=True)
class Param:
    """A scenario parameter (ScenarioParam shape)."""

    name: str
    description: str
    unit: str | None
    default: float
    minimum: float
    maximum: float

    def to_dict(self) -> JSONDict:
        return {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


@dataclass(frozen=True)
class Metric:
    """A metric declaration (MetricSpec shape)."""

    key: str
    description: str
    unit: str | None
    direction: str

    def to_dict(self) -> JSONDict:
        return {
            "key": self.key,
            "description": self.description,
            "unit": self.unit,
            "direction": self.direction,
        }


class Task:
    """One scenario: robot, environment, controller and success criterion.

    The runner calls `load` and `actuator`, then per step `before_step` → (latency) → the
    actuator's command → physics step → `after_step`, and finally `task_metrics`.
    Randomness comes only from `rng`.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    robot: ClassVar[str]
    dof: ClassVar[int | None]
    accepts_urdf: ClassVar[bool] = False
    default_steps: ClassVar[int]
    success_criterion: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    metrics: ClassVar[tuple[Metric, ...]] = ()
    default_motor_force: ClassVar[float] = 100.0
    # False for a controller that never looks at `observation` (open loop, or reading
    # the true state): it is then passed None, and the runner computes the observations
    # it records after the steps, in blocks (the same values, at a fraction of the cost).
    reads_observation: ClassVar[bool] = True
    position_gain: ClassVar[float | None] = None
    velocity_gain: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        params: dict[str, float],
        rng: np.random.Generator,
        steps: int,
        urdf_path: str | None,
    ) -> None:
        self.p = {spec.name: float(params.get(spec.name, spec.default)) for spec in self.params}
        self.rng = rng
        self.steps = steps
        self.urdf_path = urdf_path

    def load(self, engine: Engine) -> Robot:
        """Build the world (floor, robot, objects) in a freshly reset engine."""
        raise NotImplementedError

    def initial_action(self, engine: Engine) -> FloatArray:
        """Action applied before the first one issued (default: hold the current pose)."""
        return engine.read_state().joint_position.copy()

    def before_step(
        self, engine: Engine, *, step: int, observation: FloatArray | None
    ) -> FloatArray:
        """Choose the action for `step` from the measured observation (None unless the
        task `reads_observation`)."""
        raise NotImplementedError

    def actuator(self, engine: Engine, *, forces: FloatArray) -> Callable[[FloatArray], None]:
        """The command sending each (delayed) action to the motors, called once per step:
        position targets by default."""
        return engine.position_motors(
            forces=forces, position_gain=self.position_gain, velocity_gain=self.velocity_gain
        )

    def after_step(self, engine: Engine, *, step: int, state: State) -> None:
        """Observe the true state after `step` (accumulate task metrics)."""

    def task_metrics(self) -> dict[str, float]:
        """Task metrics (must include `success` 0/1 and `score`)."""
        raise NotImplementedError


SUITE: dict[str, type[Task]] = {}


def register(name: str) -> Callable[[type[Task]], type[Task]]:
    """Class decorator adding a Task to the suite under `name`."""

    def add(cls: type[Task]) -> type[Task]:
        if name in SUITE:
            raise ValueError(f"scenario {name!r} registered twice")
        cls.name = name
        SUITE[name] = cls
        return cls

    return add
