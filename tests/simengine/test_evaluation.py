"""Cross-profile evaluation on synthetic episode values."""

from __future__ import annotations

import pytest

from simengine import evaluation

DIRECTIONS = {"score": "higher_is_better", "error": "lower_is_better", "steps": "neutral"}
EPISODES = {
    "base": {"score": [0.9, 0.7], "error": [1.0, 1.0], "steps": [10, 10]},
    "a": {"score": [0.5, 0.3], "error": [2.0, 4.0], "steps": [10, 10]},
    "b": {"score": [0.8], "error": [1.5], "steps": [10]},
    "c": {},
}


def _evaluate() -> dict:
    return evaluation.evaluate(
        profiles=["base", "a", "b", "c"],
        baseline="base",
        episodes=EPISODES,
        directions=DIRECTIONS,
        ranking_metric="score",
    )


def test_drops_gap_widths_and_ranking() -> None:
    result = _evaluate()
    by_name = {p["profile"]: p for p in result["profiles"]}
    score = by_name["a"]["drops"]["score"]
    assert score["drop_abs"] == pytest.approx(0.8 - 0.4)
    assert score["drop_rel"] == pytest.approx(0.4 / 0.8)
    assert by_name["a"]["drops"]["error"]["drop_abs"] == pytest.approx(2.0)
    assert by_name["b"]["drops"]["score"]["drop_abs"] == pytest.approx(0.0, abs=1e-12)
    assert by_name["a"]["episode_spread"]["error"] == 2.0
    assert by_name["b"]["episodes_used"] == 1
    assert by_name["c"] == {
        "profile": "c",
        "rank": 3,
        "episodes_used": 0,
        "drops": {},
        "episode_spread": {},
    }
    assert result["ranking"] == ["a", "b", "c"]  # c has no successful episode: last
    assert by_name["base"]["rank"] is None
    widths = result["gap_widths"]
    assert widths["error"]["across_episodes"] == 2.0
    assert widths["error"]["across_profiles"] == pytest.approx(3.0 - 1.0)
    assert widths["steps"] == {"across_episodes": 0, "across_profiles": 0}


def test_ties_keep_batch_order() -> None:
    episodes = {"base": {"score": [1.0]}, "x": {"score": [0.5]}, "y": {"score": [0.5]}}
    result = evaluation.evaluate(
        profiles=["base", "y", "x"],
        baseline="base",
        episodes=episodes,
        directions=DIRECTIONS,
        ranking_metric="score",
    )
    assert result["ranking"] == ["y", "x"]


def test_pairwise_matrices() -> None:
    absolute, relative = evaluation.pairwise([2.0, 1.0, 0.0], "higher_is_better")
    assert absolute == [[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]
    assert relative[0] == [0.0, 0.5, 1.0]
    assert relative[2] == [None, None, None]


def test_flatten_and_collect() -> None:
    summary = {"steps": 5, "wall_time_s": 0.1, "task": {"score": 0.5}}
    assert evaluation.flatten(summary) == {"steps": 5.0, "wall_time_s": 0.1, "score": 0.5}
    values = evaluation.collect([{"a": 1.0, "b": 2.0}, {"a": 3.0}])
    assert values == {"a": [1.0, 3.0]}
