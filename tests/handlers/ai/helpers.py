"""A PlanContext on the engine's real scenarios and profiles (no physics: catalogue only)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from handlers.ai.context import Budget, PlanContext
from simengine import api


@cache
def _catalogue() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    scenarios = {s["name"]: s for s in api.list_scenarios()}
    profiles = {p["name"]: p for p in api.list_profiles()}
    return scenarios, profiles


def context(**overrides: Any) -> PlanContext:
    """Every profile allowed, no scenario, robot or project, the default budget; `overrides`
    replace fields. `budget` may be a PlanBudget dict, `allowed_profiles` any iterable."""
    scenarios, profiles = _catalogue()
    base = PlanContext(
        scenarios={name: dict(s) for name, s in scenarios.items()},
        profiles={name: dict(p) for name, p in profiles.items()},
        allowed_profiles=tuple(sorted(profiles)),
        scenario=None,
        asset_id=None,
        urdf_path=None,
        project_id=None,
        budget=Budget(),
    )
    if isinstance(overrides.get("budget"), dict):
        overrides["budget"] = Budget.of(overrides["budget"])
    if "allowed_profiles" in overrides:
        overrides["allowed_profiles"] = tuple(sorted(overrides["allowed_profiles"]))
    return replace(base, **overrides)
