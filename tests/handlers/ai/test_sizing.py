"""One scenario's part sized to its share: what gives way first, and never over the share."""

from __future__ import annotations

import pytest

from handlers.ai.sizing import EPISODES, Shape, Share, fit, floor_steps

TWO = ("slippery_warehouse", "worn_actuators")


@pytest.mark.parametrize(
    ("default", "floor"), [(960, 96), (720, 72), (480, 50), (240, 50), (40, 40)]
)
def test_floor_is_a_tenth_of_the_default_at_least_50(default: int, floor: int) -> None:
    assert floor_steps(default) == floor


def sized(runs: int, steps: int, conditions: tuple[str, ...] = TWO) -> Shape:
    shape, _ = fit(conditions, 960, Share(runs, steps), single_ok=True)
    assert shape is not None
    return shape


def test_a_large_share_gets_everything() -> None:
    shape, notes = fit(TWO, 960, Share(100, 100_000), single_ok=False)
    assert shape == Shape(True, TWO, True, False, EPISODES, 960)
    assert (shape.runs, shape.steps_total) == (1 + 3 * 5 + 1, 17 * 960)
    assert notes == []


def test_episodes_give_way_first_then_steps() -> None:
    assert sized(11, 100_000).episodes == 3  # 1 + 3*3 + 1
    shape = sized(5, 100_000 // 5 * 5)
    assert (shape.episodes, shape.steps, shape.stress) == (1, 960, True)
    shape = sized(5, 2000)
    assert (shape.episodes, shape.steps, shape.stress) == (1, 400, True)


def test_then_the_stress_run_then_conditions_then_the_baseline_run() -> None:
    assert sized(4, 100_000) == Shape(True, TWO, False, False, 1, 960)
    assert sized(3, 100_000) == Shape(True, TWO[:1], False, False, 1, 960)
    assert sized(2, 100_000) == Shape(False, TWO[:1], False, False, 1, 960)
    assert sized(1, 100_000) == Shape(False, TWO[:1], False, True, 1, 960)


def test_each_loss_is_noted_with_the_limit_that_caused_it() -> None:
    _, notes = fit(TWO, 960, Share(3, 100_000), single_ok=False)
    assert notes == [
        "no stress run and comparison to stay within max_runs 3",
        "worn_actuators left out to stay within max_runs 3",
        "1 episode per profile instead of 5 to stay within max_runs 3",
    ]
    _, notes = fit(TWO, 960, Share(40, 2000, scenarios=2), single_ok=False)
    assert notes[-1] == (
        "200 steps per run instead of the default 960 to stay within max_steps_total 2000 "
        "(split evenly over 2 scenarios); a shorter run may fail the task for lack of time"
    )


def test_below_the_core_only_a_single_run_when_allowed() -> None:
    assert fit(TWO, 960, Share(1, 100_000), single_ok=False)[0] is None
    assert fit(TWO, 960, Share(20, 191), single_ok=False)[0] is None
    assert fit(TWO, 960, Share(20, 95), single_ok=True)[0] is None
    assert sized(20, 96) == Shape(False, TWO[:1], False, True, 1, 96)


def test_without_conditions_only_a_baseline_run() -> None:
    shape = sized(20, 100_000, conditions=())
    assert (shape.runs, shape.baseline_run, shape.conditions) == (1, True, ())


@pytest.mark.parametrize("conditions", [(), TWO[:1], TWO])
def test_never_over_the_share(conditions: tuple[str, ...]) -> None:
    for runs in range(1, 25):
        for steps in range(50, 25_000, 397):
            share = Share(runs * 3, steps * 3, scenarios=3)
            shape, _ = fit(conditions, 720, share, single_ok=True)
            if shape is None:
                assert steps < floor_steps(720)
                continue
            assert shape.runs <= share.max_runs
            assert shape.steps_total <= share.max_steps_total
            assert floor_steps(720) <= shape.steps <= 720
