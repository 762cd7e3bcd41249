"""The steps the rules planner proposes for one scenario: exact request bodies, bindings to
earlier steps, and checks that point into each operation's response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.ai.context import PlanContext
from handlers.ai.costs import OPERATIONS, step_cost
from handlers.ai.sizing import Shape
from handlers.kit.jsonpointer import to_pointer

SEED = 1
STEP_ID_LENGTH = 32
# A condition whose primary metric is more than this much worse (relative to the baseline)
# fails its check: an assumed tolerance, said so in the check's description.
MAX_RELATIVE_DROP = 0.2
SUCCESS = "success"


@dataclass(frozen=True)
class ScenarioPart:
    """One scenario's part of a plan: which scenario, how big, on which profiles."""

    scenario: dict[str, Any]
    shape: Shape
    baseline: str

    @property
    def name(self) -> str:
        return str(self.scenario["name"])

    @property
    def primary(self) -> str:
        return str(self.scenario["primary_metric"])


def propose(part: ScenarioPart, context: PlanContext, used_ids: set[str]) -> list[dict[str, Any]]:
    """The steps of `part`, in order; their ids are added to `used_ids`."""
    shape, name = part.shape, part.name
    if shape.single:
        profile = shape.conditions[0] if shape.conditions else part.baseline
        prefix = "stress" if shape.conditions else "baseline"
        why = f"The one run the budget allows: {name} under {profile}, seed {SEED}."
        return [_run_step(_new_id(prefix, name, used_ids), part, profile, why, context)]
    steps: list[dict[str, Any]] = []
    baseline_id = _new_id("baseline", name, used_ids) if shape.baseline_run else None
    if baseline_id is not None:
        why = f"One {name} run under {part.baseline}, seed {SEED}: does the task succeed as is?"
        steps.append(_run_step(baseline_id, part, part.baseline, why, context))
    if shape.conditions:
        steps.extend(_batch_steps(part, context, used_ids))
    if shape.stress and baseline_id is not None:
        stress_id = _new_id("stress", name, used_ids)
        condition = shape.conditions[0]
        why = (
            f"One {name} run under {condition}, the first condition named, with the baseline "
            "run's seed and steps, so the two can be compared pair-wise."
        )
        steps.append(_run_step(stress_id, part, condition, why, context))
        steps.append(_compare_step(part, baseline_id, stress_id, context, used_ids))
    return steps


def robot_fields(scenario: dict[str, Any], context: PlanContext) -> dict[str, str]:
    """The robot given, as request fields, for a scenario that accepts one ({} otherwise)."""
    if not scenario.get("accepts_urdf"):
        return {}
    if context.asset_id is not None:
        return {"asset_id": context.asset_id}
    if context.urdf_path is not None:
        return {"urdf_path": context.urdf_path}
    return {}


def _run_step(
    step_id: str, part: ScenarioPart, profile: str, rationale: str, context: PlanContext
) -> dict[str, Any]:
    body: dict[str, Any] = {"scenario": part.name}
    robot = robot_fields(part.scenario, context)
    if robot:
        body["config"] = robot
    options: dict[str, Any] = {"profile": profile, "seed": SEED, "steps": part.shape.steps}
    if context.project_id is not None:
        options["project_id"] = context.project_id
    body["options"] = options
    return _step(step_id, "createRun", body, context, rationale, checks=_run_checks(part))


def _batch_steps(
    part: ScenarioPart, context: PlanContext, used_ids: set[str]
) -> list[dict[str, Any]]:
    shape, name = part.shape, part.name
    profiles = [part.baseline, *shape.conditions]
    body: dict[str, Any] = {
        "scenario": name,
        "profiles": profiles,
        "baseline_profile": part.baseline,
        "dr_episodes_per_profile": shape.episodes,
        "steps": shape.steps,
        "seed": SEED,
        **robot_fields(part.scenario, context),
    }
    if context.project_id is not None:
        body["project_id"] = context.project_id
    batch_id = _new_id("batch", name, used_ids)
    batch = _step(
        batch_id,
        "createBatch",
        body,
        context,
        f"{shape.episodes} domain-randomised episode(s) of {name} on each of "
        f"{', '.join(profiles)}, all with seed {SEED}, so every condition meets the same "
        f"task draws as {part.baseline}.",
    )
    checks = [
        _check(
            part.primary,
            to_pointer(["profiles", index, "drops", part.primary, "drop_rel"]),
            "le",
            MAX_RELATIVE_DROP,
            f"{part.primary} under {profile} is at most {MAX_RELATIVE_DROP:.0%} worse than "
            f"under {part.baseline} ({MAX_RELATIVE_DROP:.0%} is an assumed tolerance).",
        )
        for index, profile in enumerate(profiles)
        if index > 0
    ]
    evaluate = _step(
        _new_id("evaluate", name, used_ids),
        "evaluateBatch",
        None,
        context,
        f"The drop of every metric of each condition against {part.baseline}; the checks "
        f"read the relative drop of {part.primary}, {name}'s primary metric, at "
        "/profiles/<i> in the batch's profile order.",
        bindings=[_binding("path", "/batch_id", batch_id, "/id")],
        depends_on=[batch_id],
        checks=checks,
    )
    return [batch, evaluate]


def _compare_step(
    part: ScenarioPart, baseline_id: str, stress_id: str, context: PlanContext, used_ids: set[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_ids": [f"run_from_{baseline_id}", f"run_from_{stress_id}"],
        "metric_key": part.primary,
    }
    condition = part.shape.conditions[0]
    check = _check(
        part.primary,
        "/drop_rel/0/1",
        "le",
        MAX_RELATIVE_DROP,
        f"{part.primary} of the {condition} run is at most {MAX_RELATIVE_DROP:.0%} worse than "
        f"the baseline run's ({MAX_RELATIVE_DROP:.0%} is an assumed tolerance).",
    )
    return _step(
        _new_id("compare", part.name, used_ids),
        "compareRuns",
        body,
        context,
        f"{part.primary} of the baseline and the {condition} run side by side. The two run "
        f"ids are placeholders, filled from the bindings ({baseline_id} /id and "
        f"{stress_id} /id) before sending.",
        bindings=[
            _binding("body", "/run_ids/0", baseline_id, "/id"),
            _binding("body", "/run_ids/1", stress_id, "/id"),
        ],
        depends_on=[baseline_id, stress_id],
        checks=[check],
    )


def _run_checks(part: ScenarioPart) -> list[dict[str, Any]]:
    """Success, and every 0/1 flag the scenario reports ("1 if ...")."""
    checks = []
    criterion = part.scenario.get("success_criterion") or "its success criterion"
    for metric in part.scenario.get("metrics", []):
        key, direction = metric["key"], metric.get("direction")
        flag = str(metric.get("description", "")).startswith("1 if ")
        if key == SUCCESS:
            why = f"The run meets {part.name}'s success criterion: {criterion}"
            checks.append(_check(key, to_pointer(["metrics", "task", key]), "ge", 1.0, why))
        elif flag and direction in ("higher_is_better", "lower_is_better"):
            good = direction == "higher_is_better"
            why = f"{key} is {int(good)}: {metric['description']}"
            op, threshold = ("ge", 1.0) if good else ("le", 0.0)
            checks.append(_check(key, to_pointer(["metrics", "task", key]), op, threshold, why))
    return checks


def _step(
    step_id: str,
    operation: str,
    request: dict[str, Any] | None,
    context: PlanContext,
    rationale: str,
    *,
    bindings: Sequence[dict[str, str]] = (),
    depends_on: Sequence[str] = (),
    checks: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    method, path = OPERATIONS[operation]
    runs, steps_total = step_cost(operation, request, context)
    return {
        "id": step_id,
        "operation": operation,
        "method": method,
        "path": path,
        "request": request,
        "bindings": list(bindings),
        "depends_on": list(depends_on),
        "checks": list(checks),
        "runs": runs,
        "steps_total": steps_total,
        "rationale": rationale,
    }


def _check(metric: str, source: str, op: str, threshold: float, why: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "source": source,
        "op": op,
        "threshold": threshold,
        "description": why[:500],
    }


def _binding(target: str, pointer: str, step: str, source: str) -> dict[str, str]:
    return {"target": target, "pointer": pointer, "step": step, "source": source}


def _new_id(prefix: str, scenario: str, used: set[str]) -> str:
    """`<prefix>_<scenario>` cut to 32 characters, made unique with a number if need be."""
    candidate = f"{prefix}_{scenario}"[:STEP_ID_LENGTH]
    number = 2
    while candidate in used:
        suffix = f"_{number}"
        candidate = f"{prefix}_{scenario}"[: STEP_ID_LENGTH - len(suffix)] + suffix
        number += 1
    used.add(candidate)
    return candidate
