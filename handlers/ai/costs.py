"""What a proposed request costs: runs (batch children included) and simulation steps.

Both planners count with these, and a plan is held to its budget with them.
"""

from __future__ import annotations

from typing import Any

from handlers.ai.context import PlanContext

# The operations a plan may propose, with their method and path template.
OPERATIONS: dict[str, tuple[str, str]] = {
    "createRun": ("POST", "/v1/runs"),
    "startSimRun": ("POST", "/api/sim/run"),
    "createBatch": ("POST", "/api/sim/batch"),
    "evaluateBatch": ("GET", "/api/sim/batch/{batch_id}/evaluate"),
    "compareRuns": ("POST", "/api/sim/compare"),
}
# The contract schema of each operation's body (None: it takes none).
REQUEST_SCHEMAS: dict[str, str | None] = {
    "createRun": "RunCreate",
    "startSimRun": "SimRunRequest",
    "createBatch": "BatchRequest",
    "evaluateBatch": None,
    "compareRuns": "CompareRequest",
}
DEFAULT_SCENARIO = "urdf_rollout"  # what startSimRun and createBatch run when none is named


def step_cost(
    operation: str, request: dict[str, Any] | None, context: PlanContext
) -> tuple[int, int]:
    """(runs, steps summed over them) that submitting `request` to `operation` asks for.

    A request naming a scenario the server does not know costs its `steps` or 0 steps per
    run (the vetting refuses it anyway).
    """
    body = request or {}
    if operation == "createRun":
        options = body.get("options") or {}
        return 1, _steps(body.get("scenario"), options.get("steps"), context)
    if operation == "startSimRun":
        return 1, _steps(body.get("scenario", DEFAULT_SCENARIO), body.get("steps"), context)
    if operation == "createBatch":
        profiles = body.get("profiles") or []
        runs = len(profiles) * int(body.get("dr_episodes_per_profile", 1))
        per_run = _steps(body.get("scenario", DEFAULT_SCENARIO), body.get("steps"), context)
        return runs, runs * per_run
    return 0, 0


def _steps(scenario: Any, steps: Any, context: PlanContext) -> int:
    if isinstance(steps, int) and not isinstance(steps, bool):
        return steps
    known = context.scenarios.get(scenario) if isinstance(scenario, str) else None
    return int(known["default_steps"]) if known else 0
