"""Scenario registry: one module per scenario, each registering a Task."""

from __future__ import annotations

from simengine.scenarios import arm_reach, drop_test, push_slide, quadruped_stand, urdf_rollout
from simengine.scenarios.base import SUITE, Metric, Param, Task, register
from simengine.types import JSONDict

__all__ = ["SUITE", "Metric", "Param", "Task", "get_task", "list_scenarios", "register"]
_MODULES = (arm_reach, drop_test, push_slide, quadruped_stand, urdf_rollout)

ENGINE_METRICS = (
    Metric("steps", "Physics steps executed.", None, "neutral"),
    Metric("sim_time_s", "Simulated time.", "s", "neutral"),
    Metric("wall_time_s", "Wall-clock time of the stepping loop.", "s", "lower_is_better"),
    Metric("avg_step_time_ms", "Mean wall time per step.", "ms", "lower_is_better"),
    Metric("p95_step_time_ms", "95th percentile wall time per step.", "ms", "lower_is_better"),
    Metric("realtime_factor", "Simulated time over wall time.", "1", "higher_is_better"),
)
COMMON_TASK_METRICS = (
    Metric("success", "1 if the scenario's success criterion holds.", "1", "higher_is_better"),
    Metric("score", "Task score in [0, 1].", "1", "higher_is_better"),
    Metric("base_displacement_m", "Horizontal distance the base moved.", "m", "neutral"),
    Metric(
        "energy_j", "Actuator work: sum of |torque * joint velocity| * dt.", "J", "lower_is_better"
    ),
    Metric("contact_count", "Contact points of the robot after the last step.", None, "neutral"),
)


def get_task(name: str) -> type[Task]:
    """The Task class registered as `name` (KeyError if unknown)."""
    return SUITE[name]


def scenario_dict(task: type[Task]) -> JSONDict:
    """A Task's declaration in the contract's Scenario shape."""
    metrics = ENGINE_METRICS + COMMON_TASK_METRICS + task.metrics
    return {
        "name": task.name,
        "title": task.title,
        "description": task.description,
        "robot": task.robot,
        "dof": task.dof,
        "accepts_urdf": task.accepts_urdf,
        "default_steps": task.default_steps,
        "success_criterion": task.success_criterion,
        "primary_metric": "score",
        "metrics": [m.to_dict() for m in metrics],
        "params": [prm.to_dict() for prm in task.params],
    }


def list_scenarios() -> list[JSONDict]:
    """Every scenario (Scenario shape), sorted by name."""
    return [scenario_dict(SUITE[name]) for name in sorted(SUITE)]
