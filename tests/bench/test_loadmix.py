"""The load mix's pure parts: percentiles and paths."""

from __future__ import annotations

import pytest

from bench.loadmix import GET_RUN, LIST_RUNS, MIX, path_of, percentile


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)]
)
def test_percentile_is_nearest_rank(fraction: float, expected: float) -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, fraction) == expected


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.0], 0.99) == 7.0


def test_paths_name_a_known_run_only_where_the_operation_needs_one() -> None:
    assert path_of(GET_RUN, ["run_a", "run_b"], 3) == "/v1/runs/run_b"
    assert path_of(LIST_RUNS, ["run_a"], 3) == "/v1/runs?limit=20"


def test_the_mix_weights_add_up_to_100() -> None:
    assert sum(op.weight for op in MIX) == 100
