"""The deterministic rules planner `rules@1`: keywords of the task pick scenarios and reality
profiles, the budget sizes the runs. Pure: the same task and context give the same plan.

Every assumption (a scenario or condition nobody named, a smaller size than intended, a
profile the request does not allow) is a warning, never stated as fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.ai.context import DEFAULT_PROFILE, PlanContext
from handlers.ai.keywords import Match, named_profiles, named_scenarios, pseudo_reality
from handlers.ai.proposals import MAX_RELATIVE_DROP, ScenarioPart, propose
from handlers.ai.sizing import Share, fit, floor_steps

GENERATOR = "rules@1"
MAX_SCENARIOS = 3
FALLBACK_SCENARIO = "arm_reach"
MAX_SUMMARY = 2000
MAX_RATIONALE = 4000
MAX_WARNING = 500
MAX_WARNINGS = 100


class BudgetTooSmall(Exception):  # noqa: N818 - the service maps it to a 422 at `pointer`
    """Not even one run of the first scenario fits the budget."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(reason)
        self.pointer = pointer
        self.reason = reason


@dataclass
class _Notes:
    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def plan(task: str, context: PlanContext) -> dict[str, Any]:
    """A plan draft: generator, summary, rationale, steps, warnings and cost.

    Raises:
        BudgetTooSmall: the budget cannot pay for one run of the first scenario.
    """
    notes = _Notes()
    scenarios = _scenarios(task, context, notes)
    baseline, conditions = _profiles(task, context, notes)
    parts = _parts(scenarios, baseline, conditions, context, notes)
    used_ids: set[str] = set()
    steps = [step for part in parts for step in propose(part, context, used_ids)]
    cost = {
        "runs": sum(step["runs"] for step in steps),
        "steps_total": sum(step["steps_total"] for step in steps),
    }
    notes.reasons.extend(_sizes(parts, context, cost))
    return {
        "generator": GENERATOR,
        "summary": _clip("; ".join(_summary(part) for part in parts), MAX_SUMMARY),
        "rationale": _clip(" ".join(notes.reasons), MAX_RATIONALE),
        "steps": steps,
        "warnings": [_clip(w, MAX_WARNING) for w in notes.warnings][:MAX_WARNINGS],
        "cost": cost,
    }


def _scenarios(task: str, context: PlanContext, notes: _Notes) -> list[dict[str, Any]]:
    known = context.scenarios
    named = named_scenarios(task, known)
    if context.scenario is not None:
        others = [m.name for m in named if m.name != context.scenario]
        if others:
            notes.warnings.append(
                f"The task also mentions {_listed(others)}; only the requested scenario "
                f"{context.scenario} is planned."
            )
        notes.reasons.append(f"Scenario {context.scenario}: the request names it.")
        return [known[context.scenario]]
    if context.has_robot:
        fitting = [n for n in sorted(known) if known[n].get("accepts_urdf")]
        if fitting:
            others = [m.name for m in named if m.name not in fitting]
            if others:
                notes.warnings.append(
                    f"The task mentions {_listed(others)}, which run their own robot; the "
                    f"robot given runs only in {_listed(fitting)}."
                )
            chosen = sorted(fitting, key=lambda n: (n not in {m.name for m in named}, n))
            notes.reasons.append(
                f"Scenarios {_listed(chosen[:MAX_SCENARIOS])}: the only ones that accept the "
                "robot given."
            )
            return [known[n] for n in _at_most(chosen, "accept the robot", notes)]
        notes.warnings.append("No scenario accepts a robot; the robot given is not used.")
    if not named:
        fallback = FALLBACK_SCENARIO if FALLBACK_SCENARIO in known else sorted(known)[0]
        notes.warnings.append(
            f"The task names no scenario; {fallback} was assumed (name `scenario` to choose)."
        )
        notes.reasons.append(f"Scenario {fallback}: assumed, as the task names none.")
        return [known[fallback]]
    notes.reasons.append(f"Scenarios named by the task: {_quoted(named)}.")
    return [known[n] for n in _at_most([m.name for m in named], "are named", notes)]


def _at_most(names: list[str], why: str, notes: _Notes) -> list[str]:
    if len(names) > MAX_SCENARIOS:
        notes.warnings.append(
            f"{len(names)} scenarios {why}; only the first {MAX_SCENARIOS} are planned, not "
            f"{_listed(names[MAX_SCENARIOS:])}."
        )
    return names[:MAX_SCENARIOS]


def _profiles(task: str, context: PlanContext, notes: _Notes) -> tuple[str, tuple[str, ...]]:
    allowed = context.allowed_profiles or tuple(sorted(context.profiles))
    restricted = set(allowed) != set(context.profiles)
    named = named_profiles(task, context.profiles)
    baseline = _baseline(allowed, named, notes)
    kept: list[Match] = []
    for match in named:
        if match.name == baseline:
            continue
        if match.name not in allowed:
            notes.warnings.append(
                f"'{match.keyword}' names the profile {match.name}, which the request's "
                "`profiles` do not allow; it is not used."
            )
            continue
        kept.append(match)
    conditions = [m.name for m in kept]
    if kept:
        notes.reasons.append(f"Conditions named by the task: {_quoted(kept)}.")
    elif restricted:
        conditions = [p for p in allowed if p != baseline]
        if conditions:
            notes.warnings.append(
                f"The task names no allowed condition; the profiles the request allows "
                f"({_listed(conditions)}) were assumed."
            )
    else:
        conditions = [p for p in pseudo_reality(allowed) if p != baseline]
        if conditions:
            notes.warnings.append(
                f"No condition named; the pseudo-reality profiles ({_listed(conditions)}) "
                "estimate the sim-to-real gap."
            )
    if not conditions:
        notes.warnings.append(
            f"No profile to compare with {baseline}: only a baseline run is planned."
        )
    return baseline, tuple(conditions)


def _baseline(allowed: tuple[str, ...], named: list[Match], notes: _Notes) -> str:
    if DEFAULT_PROFILE in allowed:
        notes.reasons.append(f"Baseline {DEFAULT_PROFILE}: the nominal simulator settings.")
        return DEFAULT_PROFILE
    mentioned = {m.name for m in named}
    baseline = next((p for p in allowed if p not in mentioned), allowed[0])
    notes.warnings.append(
        f"The request's profiles leave out {DEFAULT_PROFILE}; {baseline} serves as the "
        "baseline the conditions are compared with."
    )
    return baseline


def _parts(
    scenarios: list[dict[str, Any]],
    baseline: str,
    conditions: tuple[str, ...],
    context: PlanContext,
    notes: _Notes,
) -> list[ScenarioPart]:
    budget = context.budget
    for count in range(len(scenarios), 0, -1):
        share = Share(budget.max_runs, budget.max_steps_total, count)
        fitted = [
            (
                scenario,
                *fit(conditions, int(scenario["default_steps"]), share, single_ok=count == 1),
            )
            for scenario in scenarios[:count]
        ]
        parts = [ScenarioPart(s, shape, baseline) for s, shape, _ in fitted if shape is not None]
        if len(parts) == count:
            for scenario, _, given_up in fitted:
                notes.warnings.extend(f"{scenario['name']}: {text}" for text in given_up)
            return parts
        smallest = "a batch on the baseline and one condition" if conditions else "one run"
        notes.warnings.append(
            f"{scenarios[count - 1]['name']} left out: max_runs {budget.max_runs} and "
            f"max_steps_total {budget.max_steps_total} split over {count} scenarios do not "
            f"pay for {smallest} of each (1 episode, the fewest steps)."
        )
    raise _too_small(scenarios[0], context)


def _too_small(scenario: dict[str, Any], context: PlanContext) -> BudgetTooSmall:
    name, default = scenario["name"], int(scenario["default_steps"])
    if context.budget.max_runs < 1:
        return BudgetTooSmall(
            "/budget/max_runs",
            f"one run of {name} is the smallest plan; max_runs is {context.budget.max_runs}",
        )
    return BudgetTooSmall(
        "/budget/max_steps_total",
        f"one run of {name} needs at least {floor_steps(default)} steps (a tenth of its "
        f"default_steps {default}, at least 50); max_steps_total is "
        f"{context.budget.max_steps_total}",
    )


def _sizes(parts: list[ScenarioPart], context: PlanContext, cost: dict[str, int]) -> list[str]:
    budget = context.budget
    split = f", split evenly over {len(parts)} scenarios" if len(parts) > 1 else ""
    lines = [
        f"Budget: max_runs {budget.max_runs}, max_steps_total {budget.max_steps_total}"
        f"{split}; the plan asks for {cost['runs']} runs and {cost['steps_total']} steps."
    ]
    for part in parts:
        default = int(part.scenario["default_steps"])
        shape = part.shape
        episodes = "" if shape.single or not shape.conditions else f"{shape.episodes} DR "
        episodes += "episode(s) per profile, " if episodes else ""
        lines.append(
            f"{part.name}: {episodes}{shape.steps} steps per run (default_steps {default}, "
            f"floor {floor_steps(default)}), {shape.runs} run(s)."
        )
    if any(part.shape.conditions and not part.shape.single for part in parts):
        lines.append(
            f"A condition's check fails when its primary metric drops by more than "
            f"{MAX_RELATIVE_DROP:.0%} relative to the baseline, an assumed tolerance."
        )
    if any(part.shape.stress for part in parts):
        lines.append(
            "The compare steps' run ids are placeholders, filled from their bindings "
            "(the baseline and stress runs' /id) before sending."
        )
    lines.append("Nothing is run: a person reviews the steps and submits them.")
    return lines


def _summary(part: ScenarioPart) -> str:
    shape = part.shape
    if shape.single:
        profile = shape.conditions[0] if shape.conditions else part.baseline
        return f"{part.name}: a single run on {profile} ({shape.steps} steps)"
    if not shape.conditions:
        return f"{part.name}: baseline run on {part.baseline} ({shape.steps} steps)"
    episodes = f"{shape.episodes} DR episode{'' if shape.episodes == 1 else 's'} each"
    pieces = ["baseline run"] if shape.baseline_run else []
    pieces.append(
        f"batch on {part.baseline} + {', '.join(shape.conditions)} "
        f"({episodes}, {shape.steps} steps)"
    )
    pieces.append("evaluation")
    if shape.stress:
        pieces.append("stress comparison")
    return f"{part.name}: {', '.join(pieces)}"


def _listed(names: list[str]) -> str:
    return ", ".join(names)


def _quoted(matches: list[Match]) -> str:
    return ", ".join(
        f"{m.name} (named)" if m.keyword == m.name else f"{m.name} ('{m.keyword}')" for m in matches
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
