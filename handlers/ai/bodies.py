"""What a proposed request body may name: existing scenarios, allowed profiles, the robot
and project of the request, and no side channel.

Each check raises `Refused` with the reason; the body has already matched its schema.
Reasons never quote a URDF path or another value of the body that is not a plain name.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from handlers.ai.context import DEFAULT_PROFILE, PlanContext
from handlers.ai.costs import DEFAULT_SCENARIO

# Fields a plan never proposes: they send results elsewhere or re-run other runs.
SIDE_CHANNELS = ("webhook_url", "webhook_secret", "replay_of")
_CREATES = ("createRun", "startSimRun", "createBatch")
_NAME_CHARS = 64


class Refused(Exception):  # noqa: N818 - a verdict, not an error of the program
    """A proposal breaks a rule: `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quoted(value: Any, limit: int = _NAME_CHARS) -> str:
    """`value` as `'text'` for a warning: printable ASCII only, cut to `limit` characters."""
    text = "".join(c for c in str(value) if " " <= c <= "~")
    return "'" + (text[:limit] + "..." if len(text) > limit else text) + "'"


def clean_text(value: Any, limit: int) -> str:
    """A model's free text made safe to show: a string without control, format or
    surrogate characters (line breaks become spaces), cut to `limit` characters."""
    if not isinstance(value, str):
        return ""
    kept = []
    for char in value[: limit * 4]:
        category = unicodedata.category(char)
        if category in ("Zl", "Zp") or char in "\t\n\r\v\f":
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs"):
            kept.append(char)
    return "".join(kept).strip()[:limit]


def scenario_of(operation: str, body: dict[str, Any]) -> str | None:
    """The scenario a create runs (its default when absent); None for other operations."""
    if operation == "createRun":
        scenario = body.get("scenario")
        return scenario if isinstance(scenario, str) else None
    if operation in ("startSimRun", "createBatch"):
        return str(body.get("scenario", DEFAULT_SCENARIO))
    return None


def check_body(operation: str, body: dict[str, Any], context: PlanContext) -> None:
    """Refused unless `body` names only what `context` allows (side channels aside)."""
    if operation not in _CREATES:
        return
    _check_scenario(scenario_of(operation, body), context)
    _check_profiles(operation, body, context)
    _check_robot(operation, body, context)
    _check_project(operation, body, context)


def check_side_channels(body: Any) -> None:
    """Refused if `body` sets a side channel anywhere (before its schema is looked at, so
    that the warning names the rule)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in SIDE_CHANNELS:
                raise Refused(f"its request sets {key} (a plan proposes no side channels)")
            check_side_channels(value)


def _check_scenario(scenario: str | None, context: PlanContext) -> None:
    known = context.scenarios.get(scenario) if scenario is not None else None
    if known is None:
        raise Refused(f"scenario {quoted(scenario)} does not exist")
    if context.scenario is not None and scenario != context.scenario:
        raise Refused(
            f"scenario {quoted(scenario)} is not the one asked for ({quoted(context.scenario)})"
        )
    if context.has_robot and not known.get("accepts_urdf"):
        raise Refused(
            f"scenario {quoted(scenario)} has its own robot and cannot take the one given"
        )


def _check_profiles(operation: str, body: dict[str, Any], context: PlanContext) -> None:
    if operation == "createRun":
        named = [(body.get("options") or {}).get("profile", DEFAULT_PROFILE)]
    elif operation == "startSimRun":
        named = [body.get("profile", DEFAULT_PROFILE)]
    else:
        named = list(body.get("profiles") or [])
        baseline = body.get("baseline_profile", DEFAULT_PROFILE)
        if len(set(named)) != len(named):
            raise Refused("its batch names a profile twice")
        if baseline not in named:
            raise Refused(f"its baseline profile {quoted(baseline)} is not among its profiles")
    allowed = set(context.allowed_profiles)
    for name in named:
        if name not in allowed:
            raise Refused(f"profile {quoted(name)} is not one of the allowed profiles")


def _check_robot(operation: str, body: dict[str, Any], context: PlanContext) -> None:
    holder = (body.get("config") or {}) if operation == "createRun" else body
    proposed = (holder.get("asset_id"), holder.get("urdf_path"))
    given = (context.asset_id, context.urdf_path)
    if proposed == given:
        return
    if proposed == (None, None):
        raise Refused("it does not name the robot given")
    if given == (None, None):
        raise Refused("it names a robot, and none was given")
    raise Refused("it names another robot than the one given")


def _check_project(operation: str, body: dict[str, Any], context: PlanContext) -> None:
    holder = (body.get("options") or {}) if operation == "createRun" else body
    proposed = holder.get("project_id")
    if proposed == context.project_id:
        return
    if proposed is None:
        raise Refused(f"it does not carry the project given ({quoted(context.project_id)})")
    if context.project_id is None:
        raise Refused("it names a project, and none was given")
    raise Refused("it names another project than the one given")


def plain_json(value: Any, depth: int) -> bool:
    """Only JSON values (finite numbers, string keys), nested at most `depth` deep."""
    if isinstance(value, str | bool | int) or value is None:
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth == 0:
        return False
    if isinstance(value, list):
        return all(plain_json(item, depth - 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_json(v, depth - 1) for k, v in value.items())
    return False


def copy_json(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a plain JSON object sharing nothing with the model's answer."""
    return {key: _copied(item) for key, item in body.items()}


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return copy_json(value)
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value
