from __future__ import annotations

import math

import numpy as np
import pytest

from simengine import metrics
from tests.simengine.schemas import errors


@pytest.mark.parametrize(
    ("times", "avg", "p95"),
    [([], 0.0, 0.0), ([0.001] * 10, 1.0, 1.0), (list(np.arange(1, 101) / 1000), 50.5, 95.05)],
)
def test_step_time_stats(times: list[float], avg: float, p95: float) -> None:
    assert metrics.step_time_stats(times) == pytest.approx((avg, p95))


@pytest.mark.parametrize(
    ("sim", "wall", "factor"), [(1.0, 0.5, 2.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
)
def test_realtime_factor(sim: float, wall: float, factor: float) -> None:
    assert metrics.realtime_factor(sim, wall) == factor


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [([1.0, 1.0], [1.0, 1.0], 0.0), ([3.0, -3.0], [0.0, 0.0], 3.0), ([], [], 0.0)],
)
def test_rmse(actual: list[float], target: list[float], expected: float) -> None:
    assert metrics.rmse(actual, target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tau", "qd", "dt", "energy"),
    [([[2.0, -1.0]], [[1.0, 3.0]], 0.5, 2.5), ([[0.0]], [[5.0]], 1.0, 0.0)],
)
def test_actuator_energy(
    tau: list[list[float]], qd: list[list[float]], dt: float, energy: float
) -> None:
    assert metrics.actuator_energy(tau, qd, dt=dt) == pytest.approx(energy)


@pytest.mark.parametrize(
    ("start", "end", "distance"),
    [([0, 0, 0], [3, 4, 9], 5.0), ([1, 1, 1], [1, 1, 0], 0.0)],
)
def test_horizontal_displacement(start: list[float], end: list[float], distance: float) -> None:
    assert metrics.horizontal_displacement(start, end) == pytest.approx(distance)


@pytest.mark.parametrize(
    ("heights", "ups", "expected"),
    [([0.3, 0.3], [1.0, 0.9], False), ([0.3, 0.1], [1.0, 1.0], True), ([0.3], [0.2], True)],
)
def test_fell(heights: list[float], ups: list[float], expected: bool) -> None:
    assert metrics.fell(heights, ups, min_height=0.15, min_up_z=0.5) is expected


@pytest.mark.parametrize(
    ("value", "threshold", "higher", "expected"),
    [(0.9, 0.8, True, True), (0.7, 0.8, True, False), (0.01, 0.05, False, True)],
)
def test_success(value: float, threshold: float, higher: bool, expected: bool) -> None:
    assert metrics.success(value, threshold=threshold, higher_is_better=higher) is expected


@pytest.mark.parametrize(("steps", "stride"), [(1, 1), (10_000, 1), (10_001, 2), (1_000_000, 100)])
def test_history_stride(steps: int, stride: int) -> None:
    assert metrics.history_stride(steps) == stride


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e20])
def test_finite_clips(value: float) -> None:
    assert abs(metrics.finite(value)) <= 1e15


@pytest.mark.parametrize("steps", [1, 7, 25_001])
def test_history_shape(steps: int) -> None:
    history = metrics.metric_history({"x": np.arange(steps)}, steps=steps, dt=0.5)
    assert errors("MetricHistory", history) == []
    assert history["step"][0] == 0
    assert history["step"][-1] == steps - 1
    assert len(history["step"]) <= metrics.MAX_HISTORY_POINTS
    assert history["series"]["x"] == [float(s) for s in history["step"]]


def test_run_metrics_shape() -> None:
    out = metrics.run_metrics(
        steps=4, dt=0.25, step_times_s=[0.1] * 4, partial=False, task={"success": 1.0}
    )
    out |= {"run_id": "run_x", "status": "SUCCEEDED"}
    assert errors("RunMetrics", out) == []
    assert out["sim_time_s"] == 1.0
    assert out["realtime_factor"] == pytest.approx(2.5)
