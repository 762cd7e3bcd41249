"""Statistics and drops: pure functions checked against published values."""

from __future__ import annotations

import math

import pytest

from simengine import stats

# Two-sided 95% critical values of Student's t (any statistics table).
T_975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 5: 2.5706, 10: 2.2281, 30: 2.0423, 120: 1.9799}


@pytest.mark.parametrize(("df", "expected"), sorted(T_975.items()))
def test_t_quantile_matches_the_table(df: int, expected: float) -> None:
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize("df", [1, 4, 50])
def test_t_cdf_is_symmetric_and_inverts_the_quantile(df: int) -> None:
    assert stats.t_cdf(0.0, df) == pytest.approx(0.5, abs=1e-12)
    assert stats.t_cdf(-1.3, df) == pytest.approx(1 - stats.t_cdf(1.3, df), abs=1e-12)
    assert stats.t_cdf(stats.t_quantile(0.9, df), df) == pytest.approx(0.9, abs=1e-10)


def test_describe_three_values() -> None:
    d = stats.describe([1.0, 2.0, 6.0])
    assert (d["n"], d["mean"], d["min"], d["max"]) == (3, 3.0, 1.0, 6.0)
    assert d["std"] == pytest.approx(math.sqrt(7.0))
    half = T_975[2] * math.sqrt(7.0) / math.sqrt(3)
    assert d["ci95_low"] == pytest.approx(3.0 - half, rel=1e-4)
    assert d["ci95_high"] == pytest.approx(3.0 + half, rel=1e-4)


def test_describe_one_value_has_no_spread() -> None:
    d = stats.describe([0.25])
    assert (d["std"], d["ci95_low"], d["ci95_high"]) == (None, None, None)
    assert d["mean"] == d["min"] == d["max"] == 0.25
    with pytest.raises(ValueError, match="at least one"):
        stats.describe([])


@pytest.mark.parametrize(
    ("direction", "baseline", "value", "expected"),
    [
        ("higher_is_better", 0.8, 0.6, (0.8 - 0.6, (0.8 - 0.6) / 0.8)),
        ("higher_is_better", 0.5, 0.7, (0.5 - 0.7, (0.5 - 0.7) / 0.5)),
        ("lower_is_better", 2.0, 3.0, (1.0, 0.5)),
        ("lower_is_better", -2.0, -1.0, (1.0, 0.5)),
        ("neutral", 1.0, 0.5, (-0.5, -0.5)),
        ("higher_is_better", 0.0, 1.0, (-1.0, None)),
    ],
)
def test_drop_is_positive_when_worse(
    direction: str, baseline: float, value: float, expected: tuple[float, float | None]
) -> None:
    assert stats.drop(direction, baseline, value) == expected


def test_pearson() -> None:
    assert stats.pearson([1, 2, 3], [2, 4, 6.5]) == pytest.approx(4.5 / (2 * 10.1666666667) ** 0.5)
    assert stats.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert stats.pearson([1, 2], [5, 5]) is None
    assert stats.pearson([1], [1]) is None
