"""Pure metric functions over arrays; no engine, no clocks."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from simengine.types import FloatArray, JSONDict

MAX_HISTORY_POINTS = 10_000

ArrayLike = npt.ArrayLike


def step_time_stats(step_times_s: ArrayLike) -> tuple[float, float]:
    """Mean and 95th percentile of per-step wall times, in milliseconds (0, 0 if empty)."""
    times = np.asarray(step_times_s, dtype=np.float64)
    if times.size == 0:
        return 0.0, 0.0
    return float(times.mean() * 1e3), float(np.percentile(times, 95) * 1e3)


def realtime_factor(sim_time_s: float, wall_time_s: float) -> float:
    """Simulated over wall time; 0 when no wall time elapsed."""
    return sim_time_s / wall_time_s if wall_time_s > 0 else 0.0


def rmse(actual: ArrayLike, target: ArrayLike) -> float:
    """Root mean square of `actual - target` over every element (0 if empty)."""
    diff = np.asarray(actual, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.sqrt(np.mean(diff * diff))) if diff.size else 0.0


def actuator_energy(torque: ArrayLike, velocity: ArrayLike, *, dt: float) -> float:
    """Actuator work in J: sum over steps and joints of |torque * velocity| * dt."""
    power = np.abs(np.asarray(torque, dtype=np.float64) * np.asarray(velocity, dtype=np.float64))
    return float(power.sum() * dt)


def horizontal_displacement(start: ArrayLike, end: ArrayLike) -> float:
    """Distance in the xy plane between two positions."""
    a = np.asarray(start, dtype=np.float64)[:2]
    b = np.asarray(end, dtype=np.float64)[:2]
    return float(np.linalg.norm(b - a))


def fell(heights: ArrayLike, up_z: ArrayLike, *, min_height: float, min_up_z: float) -> bool:
    """True if at any step the base was below `min_height` or tilted past `min_up_z`."""
    h = np.asarray(heights, dtype=np.float64)
    u = np.asarray(up_z, dtype=np.float64)
    return bool(np.any(h < min_height) or np.any(u < min_up_z))


def success(value: float, *, threshold: float, higher_is_better: bool) -> bool:
    """Whether `value` meets `threshold` in the metric's direction."""
    return value >= threshold if higher_is_better else value <= threshold


def history_stride(steps: int, *, max_points: int = MAX_HISTORY_POINTS) -> int:
    """Smallest stride that keeps a history of `steps` steps within `max_points` points."""
    return max(1, math.ceil(steps / max_points))


def finite(value: float) -> float:
    """A metric value safe for the contract (never NaN/inf; clipped to ±1e15)."""
    if not math.isfinite(value):
        return 0.0
    return float(min(max(value, -1e15), 1e15))


def run_metrics(
    *,
    steps: int,
    dt: float,
    step_times_s: ArrayLike,
    partial: bool,
    task: dict[str, float],
) -> JSONDict:
    """Engine and task metrics of a run (RunMetrics shape without `run_id` and `status`).

    Returns:
        Dict with `partial`, `steps`, `sim_time_s`, `wall_time_s`, `avg_step_time_ms`,
        `p95_step_time_ms`, `realtime_factor`, `task` and `history` (None).
    """
    times = np.asarray(step_times_s, dtype=np.float64)
    wall = float(times.sum())
    avg_ms, p95_ms = step_time_stats(times)
    sim_time = steps * dt
    return {
        "partial": partial,
        "steps": steps,
        "sim_time_s": sim_time,
        "wall_time_s": wall,
        "avg_step_time_ms": avg_ms,
        "p95_step_time_ms": p95_ms,
        "realtime_factor": finite(realtime_factor(sim_time, wall)),
        "task": {key: finite(v) for key, v in sorted(task.items())},
        "history": None,
    }


def metric_history(
    series: Mapping[str, ArrayLike], *, steps: int, dt: float, max_points: int = MAX_HISTORY_POINTS
) -> JSONDict:
    """Downsample per-step series (one value per step) into the MetricHistory shape.

    Points are taken at steps 0, stride, 2·stride, … and the last step is always included.
    """
    stride = history_stride(steps, max_points=max_points)
    idx = list(range(0, steps, stride))
    if steps and idx[-1] != steps - 1:
        if len(idx) >= max_points:
            idx[-1] = steps - 1
        else:
            idx.append(steps - 1)
    return {
        "stride": stride,
        "step": idx,
        "t": [(i + 1) * dt for i in idx],
        "series": {
            key: finite_list(np.asarray(values, dtype=np.float64)[idx])
            for key, values in sorted(series.items())
        },
    }


def finite_list(values: FloatArray) -> list[float]:
    """`finite` over an array, vectorised: NaN/inf become 0.0, the rest clipped to ±1e15."""
    clean = np.where(np.isfinite(values), np.clip(values, -1e15, 1e15), 0.0)
    return [float(v) for v in clean.tolist()]
