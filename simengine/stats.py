"""Statistics over episodes and drops between values: pure functions (docs/metrics.md).

No SciPy: the Student t quantile of the 95% confidence interval is found by bisection
on the t CDF, written with the regularised incomplete beta function (continued fraction,
as in Numerical Recipes §6.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

from simengine.types import JSONDict

CI_LEVEL = 0.95
_EPS = 1e-15
_TINY = 1e-300


def describe(values: Sequence[float]) -> JSONDict:
    """MetricStats of `values` (at least one): n, mean, std (n - 1), min, max, 95% CI.

    `std` and the CI bounds are None when n < 2. The CI is mean ± t(0.975, n - 1) · std / √n.
    """
    if not values:
        raise ValueError("describe needs at least one value")
    n = len(values)
    mean = average(values)
    std = ci_low = ci_high = None
    if n >= 2:
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
        half = t_quantile(0.5 + CI_LEVEL / 2, n - 1) * std / math.sqrt(n)
        ci_low, ci_high = mean - half, mean + half
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "min": min(values),
        "max": max(values),
        "ci95_low": ci_low,
        "ci95_high": ci_high,
    }


def average(values: Sequence[float]) -> float:
    """The mean (exactly rounded sum over n): the one every report and evaluation uses."""
    return math.fsum(values) / len(values)


def drop(direction: str, baseline: float, value: float) -> tuple[float, float | None]:
    """How much worse `value` is than `baseline` (positive = worse), absolute and relative.

    higher_is_better: baseline - value; lower_is_better and neutral: value - baseline.
    The relative drop is drop_abs / |baseline|, None when the baseline is 0.
    """
    drop_abs = baseline - value if direction == "higher_is_better" else value - baseline
    drop_rel = None if baseline == 0 else drop_abs / abs(baseline)
    return drop_abs, drop_rel


def spread(values: Sequence[float]) -> float:
    """max - min (0 for fewer than two values)."""
    return max(values) - min(values) if values else 0.0


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None with fewer than 2 pairs or a zero variance."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2, 0.5, x)
    return 1.0 - tail if t > 0 else tail


@cache
def t_quantile(p: float, df: int) -> float:
    """The t with P(T <= t) = p (0.5 <= p < 1), by bisection to ~1e-12."""
    if not 0.5 <= p < 1 or df < 1:
        raise ValueError("t_quantile needs 0.5 <= p < 1 and df >= 1")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h
