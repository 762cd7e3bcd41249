"""What a planner may plan with: the server's scenarios and profiles, the robot, the budget.

Built by the service from a checked `PlanRequest`; planners (the rules, an LLM's vetting)
read it and never reach into the server themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PROFILE = "default"
DEFAULT_MAX_RUNS = 20
DEFAULT_MAX_STEPS_TOTAL = 20_000


@dataclass(frozen=True)
class Budget:
    """The most a plan may ask for (PlanBudget)."""

    max_runs: int = DEFAULT_MAX_RUNS
    max_steps_total: int = DEFAULT_MAX_STEPS_TOTAL

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Budget:
        """From a PlanBudget dict (absent values: the defaults)."""
        data = data or {}
        return cls(
            max_runs=int(data.get("max_runs", DEFAULT_MAX_RUNS)),
            max_steps_total=int(data.get("max_steps_total", DEFAULT_MAX_STEPS_TOTAL)),
        )

    def as_dict(self) -> dict[str, int]:
        return {"max_runs": self.max_runs, "max_steps_total": self.max_steps_total}


@dataclass(frozen=True)
class PlanContext:
    """Everything a planner knows.

    scenarios: every Scenario dict of the server (name, accepts_urdf, default_steps,
        metrics [{key, direction, ...}], primary_metric, description, ...), by name;
    profiles: every RealityProfile dict (name, description, ...), by name;
    allowed_profiles: the profiles the request allows (all of them if it named none),
        sorted by name;
    scenario: the scenario the request named, or None;
    asset_id / urdf_path: the robot the request named (at most one), or None;
    project_id: the project the request named, or None (every proposed create carries it);
    budget: the effective budget.
    """

    scenarios: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    allowed_profiles: tuple[str, ...]
    scenario: str | None
    asset_id: str | None
    urdf_path: str | None
    project_id: str | None
    budget: Budget

    @property
    def has_robot(self) -> bool:
        """A robot was given (so only scenarios that accept a URDF apply)."""
        return self.asset_id is not None or self.urdf_path is not None
