"""The LLM's plan, vetted like any untrusted input: a step is kept only if every rule holds.

A step that breaks a rule is dropped with a warning naming it and the rule, and so is every
step that depends on it; an invalid check is dropped alone. Nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.ai.bodies import (
    Refused,
    check_body,
    check_side_channels,
    clean_text,
    copy_json,
    plain_json,
    quoted,
    scenario_of,
)
from handlers.ai.context import PlanContext
from handlers.ai.costs import OPERATIONS, REQUEST_SCHEMAS, step_cost
from handlers.kit.contracts import ContractRegistry

MAX_STEPS = 50
MAX_READ = 200  # steps of an answer looked at; the rest is not even read
MAX_CHECKS = 32
MAX_WARNINGS = 100
MAX_WARNING_CHARS = 500
MAX_DEPTH = 32
SUMMARY_CHARS, RATIONALE_CHARS, STEP_RATIONALE_CHARS, CHECK_CHARS = 2000, 4000, 2000, 500
DEFAULT_SUMMARY = "A plan proposed by the LLM planner."
DEFAULT_RATIONALE = "The LLM planner gave no rationale."
SHAPE = "the LLM's answer did not have the plan's shape"
# Where a binding may write: a path parameter, or a run id placeholder of compareRuns.
_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")
_RUN_ID_PLACE = re.compile(r"^/run_ids/(0|[1-9][0-9]?)$")


@dataclass(frozen=True)
class Vetted:
    """What of the LLM's plan holds: PlanStep dicts, and why the rest does not."""

    summary: str
    rationale: str
    steps: list[dict[str, Any]]
    warnings: list[str]
    cost: dict[str, int]  # {"runs", "steps_total"}


def vet(candidate: Any, context: PlanContext, registry: ContractRegistry) -> Vetted:
    """Keep of `candidate` (the LLM's parsed answer) only what is a valid plan for `context`."""
    vetting = _Vetting(context, registry)
    fields = candidate if isinstance(candidate, dict) else {}
    steps = fields.get("steps")
    if not isinstance(steps, list):
        vetting.warn(SHAPE)
        steps = []
    if len(steps) > MAX_READ:
        vetting.warn(f"only the first {MAX_READ} of the LLM's {len(steps)} steps were read")
    for position, raw in enumerate(steps[:MAX_READ], start=1):
        if len(vetting.kept) == MAX_STEPS:
            vetting.warn(f"steps after the {MAX_STEPS}th kept one were dropped")
            break
        vetting.consider(position, raw)
    return Vetted(
        summary=clean_text(fields.get("summary"), SUMMARY_CHARS) or DEFAULT_SUMMARY,
        rationale=clean_text(fields.get("rationale"), RATIONALE_CHARS) or DEFAULT_RATIONALE,
        steps=list(vetting.kept.values()),
        warnings=vetting.capped_warnings(),
        cost={"runs": vetting.runs, "steps_total": vetting.steps_total},
    )


class _Vetting:
    """The steps kept so far, what they cost, and the warnings."""

    def __init__(self, context: PlanContext, registry: ContractRegistry) -> None:
        self.context = context
        self.registry = registry
        self.kept: dict[str, dict[str, Any]] = {}
        self.scenarios: dict[str, frozenset[str]] = {}  # kept step -> scenarios it is about
        self.seen: set[str] = set()
        self.dropped: set[str] = set()
        self.runs = 0
        self.steps_total = 0
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text if len(text) <= MAX_WARNING_CHARS else text[:497] + "...")

    def capped_warnings(self) -> list[str]:
        if len(self.warnings) <= MAX_WARNINGS:
            return list(self.warnings)
        more = len(self.warnings) - MAX_WARNINGS + 1
        return [*self.warnings[: MAX_WARNINGS - 1], f"{more} more warnings"]

    def consider(self, position: int, raw: Any) -> None:
        """Keep the step `raw`, or warn why not."""
        step_id = None
        try:
            step_id = self._identify(raw)
            self._keep(step_id, raw)
        except Refused as refused:
            label = f"#{position}" if step_id is None else quoted(step_id)
            if step_id is not None:
                self.dropped.add(step_id)
            self.warn(f"step {label} was dropped: {refused.reason}")

    def _identify(self, raw: Any) -> str:
        """The step's id, once it is known to be a valid id no earlier step has."""
        if not isinstance(raw, dict) or not plain_json(raw, MAX_DEPTH):
            raise Refused("it is not a plain JSON object")
        step_id = raw.get("id")
        if step_id is None:
            raise Refused("it has no id")
        if not isinstance(step_id, str) or self.registry.errors("PlanStepId", step_id):
            raise Refused(f"its id {quoted(step_id, 40)} is not a valid step id")
        if step_id in self.seen:
            raise Refused(f"its id {quoted(step_id)} is used by an earlier step")
        self.seen.add(step_id)
        return step_id

    def _keep(self, step_id: str, raw: dict[str, Any]) -> None:
        operation = raw.get("operation")
        if not isinstance(operation, str) or operation not in OPERATIONS:
            raise Refused(f"operation {quoted(operation)} does not exist")
        request = self._request(operation, raw.get("request"))
        bindings = self._bindings(operation, request, raw.get("bindings", []))
        depends_on = self._depends_on(raw.get("depends_on", []), bindings)
        scenarios = self._scenarios(operation, request, bindings)
        runs, steps_total = step_cost(operation, request, self.context)
        budget = self.context.budget
        if self.runs + runs > budget.max_runs or self.steps_total + steps_total > (
            budget.max_steps_total
        ):
            raise Refused(
                f"over budget: with it the plan asks for {self.runs + runs} runs / "
                f"{self.steps_total + steps_total} steps, more than the {budget.max_runs} runs / "
                f"{budget.max_steps_total} steps allowed"
            )
        method, path = OPERATIONS[operation]
        step = {
            "id": step_id,
            "operation": operation,
            "method": method,
            "path": path,
            "request": request,
            "bindings": bindings,
            "depends_on": depends_on,
            "checks": self._checks(step_id, raw.get("checks", []), scenarios),
            "runs": runs,
            "steps_total": steps_total,
            "rationale": clean_text(raw.get("rationale"), STEP_RATIONALE_CHARS),
        }
        errors = self.registry.errors("PlanStep", step)
        if errors:
            raise Refused(f"it is not a valid plan step (at {quoted(errors[0].pointer)})")
        self.kept[step_id] = step
        self.scenarios[step_id] = scenarios
        self.runs += runs
        self.steps_total += steps_total

    def _request(self, operation: str, body: Any) -> dict[str, Any] | None:
        schema = REQUEST_SCHEMAS[operation]
        if schema is None:
            return None  # whatever the model wrote, the operation takes no body
        if not isinstance(body, dict):
            raise Refused(f"its request is not a JSON object ({schema})")
        check_side_channels(body)
        errors = self.registry.errors(schema, body)
        if errors:
            at = quoted(errors[0].pointer or "/", 100)
            raise Refused(f"its request does not match {schema} (at {at})")
        check_body(operation, body, self.context)
        return copy_json(body)

    def _bindings(
        self, operation: str, request: dict[str, Any] | None, raw: Any
    ) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            raise Refused("its bindings are not a list")
        bindings: list[dict[str, Any]] = []
        written: set[tuple[str, str]] = set()
        path_parameters = set(_PATH_PARAMETER.findall(OPERATIONS[operation][1]))
        for number, binding in enumerate(raw, start=1):
            errors = self.registry.errors("PlanBinding", binding)
            if errors:
                at = quoted(errors[0].pointer or "/")
                raise Refused(f"its binding {number} is not a valid binding (at {at})")
            target, pointer, source_step = binding["target"], binding["pointer"], binding["step"]
            if source_step not in self.kept:
                raise Refused(f"its binding {number} takes from {self._unkept(source_step)}")
            if target == "path":
                fits = pointer[1:] in path_parameters
            else:
                fits = operation == "compareRuns" and _holds_run_id(request or {}, pointer)
            if not fits or (target, pointer) in written:
                raise Refused(f"its binding {number} cannot write {target} {quoted(pointer)}")
            written.add((target, pointer))
            bindings.append({k: binding[k] for k in ("target", "pointer", "step", "source")})
        return bindings

    def _depends_on(self, raw: Any, bindings: list[dict[str, Any]]) -> list[str]:
        if not isinstance(raw, list):
            raise Refused("its depends_on is not a list of step ids")
        depends_on: list[str] = []
        for name in [*raw, *(binding["step"] for binding in bindings)]:
            if not isinstance(name, str):
                raise Refused("its depends_on is not a list of step ids")
            if name not in self.kept:
                raise Refused(f"it depends on {self._unkept(name)}")
            if name not in depends_on:
                depends_on.append(name)
        return depends_on

    def _unkept(self, name: Any) -> str:
        if isinstance(name, str) and name in self.dropped:
            return f"step {quoted(name)}, which was dropped"
        return f"{quoted(name, 40)}, which is not an earlier step"

    def _scenarios(
        self, operation: str, request: dict[str, Any] | None, bindings: list[dict[str, Any]]
    ) -> frozenset[str]:
        """The scenarios the step's response is about; refused if it does not read values it
        needs from earlier steps."""
        bound = {binding["pointer"]: binding["step"] for binding in bindings}
        if operation == "evaluateBatch":
            batch = bound.get("/batch_id")
            if batch is None or self.kept[batch]["operation"] != "createBatch":
                raise Refused("it needs a path binding /batch_id from an earlier createBatch step")
            return self.scenarios[batch]
        if operation == "compareRuns":
            body = request or {}
            run_ids = [f"/run_ids/{i}" for i in range(len(body.get("run_ids", [])))]
            if any(pointer not in bound for pointer in run_ids):
                raise Refused("its run_ids are not all filled by bindings from earlier steps")
            scenarios = frozenset[str]().union(*(self.scenarios[bound[p]] for p in run_ids))
            metric = body.get("metric_key")
            if metric not in self._metrics(scenarios):
                raise Refused(f"metric {quoted(metric)} is not reported by {_names(scenarios)}")
            return scenarios
        scenario = scenario_of(operation, request or {})
        return frozenset() if scenario is None else frozenset({scenario})

    def _checks(self, step_id: str, raw: Any, scenarios: frozenset[str]) -> list[dict[str, Any]]:
        """The valid checks of the step; each invalid one is dropped alone, with a warning."""
        if not isinstance(raw, list):
            self.warn(f"step {quoted(step_id)}: its checks are not a list; none were kept")
            return []
        if len(raw) > MAX_CHECKS:
            self.warn(f"step {quoted(step_id)}: checks after the {MAX_CHECKS}th were dropped")
        checks: list[dict[str, Any]] = []
        metrics = self._metrics(scenarios)
        for number, check in enumerate(raw[:MAX_CHECKS], start=1):
            if isinstance(check, dict) and isinstance(check.get("description"), str):
                check = {**check, "description": clean_text(check["description"], CHECK_CHARS)}
            errors = self.registry.errors("PlanCheck", check)
            reason = None
            if errors:
                reason = f"it is not a valid check (at {quoted(errors[0].pointer or '/')})"
            elif check["metric"] not in metrics:
                reason = f"metric {quoted(check['metric'])} is not reported by {_names(scenarios)}"
            if reason is not None:
                self.warn(f"step {quoted(step_id)}: check {number} was dropped: {reason}")
                continue
            keys = ("metric", "source", "op", "threshold", "description")
            checks.append({key: check[key] for key in keys})
        return checks

    def _metrics(self, scenarios: frozenset[str]) -> set[str]:
        """Metric keys every one of `scenarios` reports."""
        keys = [
            {metric["key"] for metric in self.context.scenarios[name].get("metrics", [])}
            for name in scenarios
            if name in self.context.scenarios
        ]
        return set.intersection(*keys) if keys else set()


def _names(scenarios: frozenset[str]) -> str:
    if not scenarios:
        return "the step's scenario"
    return "scenario " + ", ".join(quoted(name) for name in sorted(scenarios))


def _holds_run_id(request: dict[str, Any], pointer: str) -> bool:
    """`pointer` is `/run_ids/<i>` and `request` has a placeholder there."""
    found = _RUN_ID_PLACE.match(pointer)
    return found is not None and int(found.group(1)) < len(request.get("run_ids", []))
