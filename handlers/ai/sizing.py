"""How big the rules planner makes one scenario's part of a plan within its share of the budget.

A part is a baseline run, a batch on the baseline and the conditions (E episodes each), a
stress run on the first condition and its comparison; every run has `n` steps. What gives
way first, as the share shrinks: E (down to 1), then n (down to a floor), then the stress
run, then conditions from the end, then the baseline run. Below that the part does not fit,
except as a single run when `single_ok`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

EPISODES = 5  # DR episodes per profile asked for when the budget allows
MIN_FLOOR_STEPS = 50


@dataclass(frozen=True)
class Share:
    """What one scenario may cost: the budget split evenly over `scenarios`."""

    budget_runs: int
    budget_steps_total: int
    scenarios: int = 1

    @property
    def max_runs(self) -> int:
        return self.budget_runs // self.scenarios

    @property
    def max_steps_total(self) -> int:
        return self.budget_steps_total // self.scenarios

    def exceeded(self, runs: int, steps_total: int) -> str:
        """The limits `runs` and `steps_total` break, named for a warning ("" if none)."""
        broken = []
        if runs > self.max_runs:
            broken.append(f"max_runs {self.budget_runs}")
        if steps_total > self.max_steps_total:
            broken.append(f"max_steps_total {self.budget_steps_total}")
        text = " and ".join(broken)
        if text and self.scenarios > 1:
            text += f" (split evenly over {self.scenarios} scenarios)"
        return text


@dataclass(frozen=True)
class Shape:
    """One scenario's part of a plan (`episodes` is 1 when it has no batch)."""

    baseline_run: bool
    conditions: tuple[str, ...]
    stress: bool
    single: bool  # only one run: on the first condition, else on the baseline
    episodes: int
    steps: int

    @property
    def runs(self) -> int:
        if self.single:
            return 1
        batch = (1 + len(self.conditions)) * self.episodes if self.conditions else 0
        return int(self.baseline_run) + batch + int(self.stress)

    @property
    def steps_total(self) -> int:
        return self.runs * self.steps


def floor_steps(default_steps: int) -> int:
    """The fewest steps per run the planner proposes: a tenth of the default, at least 50
    (never more than the default)."""
    return min(default_steps, max(MIN_FLOOR_STEPS, default_steps // 10))


def fit(
    conditions: tuple[str, ...], default_steps: int, share: Share, *, single_ok: bool
) -> tuple[Shape | None, list[str]]:
    """The largest part that fits `share`, and what was given up for it (warning texts).

    None when not even its smallest form fits.
    """
    floor = floor_steps(default_steps)
    given_up: list[str] = []
    previous: Shape | None = None
    for shape in _forms(conditions, single_ok=single_ok):
        if previous is not None:
            smallest = replace(previous, episodes=1, steps=floor)
            limits = share.exceeded(smallest.runs, smallest.steps_total)
            given_up.extend(f"{loss} to stay within {limits}" for loss in _lost(previous, shape))
        sized = _sized(shape, default_steps, floor, share)
        if sized is not None:
            return sized, given_up + _shrunk(sized, default_steps, share)
        previous = shape
    return None, given_up


def _forms(conditions: tuple[str, ...], *, single_ok: bool) -> Iterator[Shape]:
    def shape(baseline: bool, kept: tuple[str, ...], stress: bool, single: bool) -> Shape:
        return Shape(baseline, kept, stress, single, EPISODES, 0)

    if not conditions:
        yield shape(True, (), False, False)
        return
    yield shape(True, conditions, True, False)
    for kept in range(len(conditions), 0, -1):
        yield shape(True, conditions[:kept], False, False)
    yield shape(False, conditions[:1], False, False)
    if single_ok:
        yield shape(False, conditions[:1], False, True)


def _sized(shape: Shape, default_steps: int, floor: int, share: Share) -> Shape | None:
    batched = bool(shape.conditions) and not shape.single
    for episodes in range(EPISODES, 0, -1) if batched else (1,):
        candidate = replace(shape, episodes=episodes, steps=default_steps)
        if candidate.runs <= share.max_runs and candidate.steps_total <= share.max_steps_total:
            return candidate
    smallest = replace(shape, episodes=1, steps=floor)
    if smallest.runs > share.max_runs or smallest.steps_total > share.max_steps_total:
        return None
    return replace(smallest, steps=min(default_steps, share.max_steps_total // smallest.runs))


def _lost(before: Shape, after: Shape) -> list[str]:
    if after.single:
        where = after.conditions[0] if after.conditions else "the baseline"
        return [f"a single run on {where} (no batch, no baseline to compare with)"]
    losses = []
    if before.stress and not after.stress:
        losses.append("no stress run and comparison")
    losses.extend(f"{p} left out" for p in before.conditions[len(after.conditions) :])
    if before.baseline_run and not after.baseline_run:
        losses.append("no separate baseline run (the batch's baseline episodes remain)")
    return losses


def _shrunk(shape: Shape, default_steps: int, share: Share) -> list[str]:
    notes = []
    if shape.conditions and not shape.single and shape.episodes < EPISODES:
        bigger = replace(shape, episodes=shape.episodes + 1, steps=default_steps)
        limits = share.exceeded(bigger.runs, bigger.steps_total)
        episodes = f"{shape.episodes} episode{'' if shape.episodes == 1 else 's'}"
        notes.append(f"{episodes} per profile instead of {EPISODES} to stay within {limits}")
    if shape.steps < default_steps:
        whole = replace(shape, steps=default_steps)
        limits = share.exceeded(whole.runs, whole.steps_total)
        notes.append(
            f"{shape.steps} steps per run instead of the default {default_steps} "
            f"to stay within {limits}; a shorter run may fail the task for lack of time"
        )
    return notes
