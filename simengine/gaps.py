"""Sim-to-real gap numbers G_dyn and G_perc from trajectories: pure functions (docs/metrics.md).

G_dyn compares two state trajectories driven by the same open-loop action sequence;
G_perc compares observation errors (measured - true) of two sensor models on the same
true observations. G_perf is computed from run metrics (`handlers.benchmarks.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simengine.types import FloatArray, JSONDict
from simengine.wrappers import BASE_AXES, CHANNELS

# The range a dimension is normalised by: over both trajectories, so a dimension that
# barely moves under the baseline but swings under the other scores about 1, not 1e6;
# a dimension constant in both (range below this floor, SI units) scores 0.
RANGE_FLOOR = 1e-6
NRMSE_CAP = 1e6
# The state dimensions compared, in `State.flat` order (joint torques are control outputs).
STATE_GROUPS = (
    ("base_position", ("x", "y", "z")),
    ("base_orientation", ("x", "y", "z", "w")),
    ("base_linear_velocity", ("x", "y", "z")),
    ("base_angular_velocity", ("x", "y", "z")),
)


def state_names(dof: int) -> list[str]:
    """Names of the compared state dimensions (base, then joint positions and velocities)."""
    names = [f"{group}.{axis}" for group, axes in STATE_GROUPS for axis in axes]
    names += [f"joint_position[{i}]" for i in range(dof)]
    names += [f"joint_velocity[{i}]" for i in range(dof)]
    return names


def state_rows(flat: FloatArray, dof: int) -> FloatArray:
    """The compared dimensions of `State.flat` rows (drops the joint torques)."""
    return np.asarray(flat[..., : 13 + 2 * dof], dtype=np.float64)


def nrmse(reference: FloatArray, other: FloatArray) -> FloatArray:
    """Per dimension: RMSE(other - reference) / range of both (steps x dims arrays).

    Both are cut to the shorter length (a replay that diverged ends early).
    """
    n = min(len(reference), len(other))
    if n == 0:
        return np.zeros(reference.shape[1] if reference.ndim == 2 else 0)
    ref, oth = reference[:n], other[:n]
    rmse = np.sqrt(np.mean((oth - ref) ** 2, axis=0))
    both = np.concatenate([ref, oth])
    scale = np.maximum(both.max(axis=0) - both.min(axis=0), RANGE_FLOOR)
    return np.asarray(np.minimum(rmse / scale, NRMSE_CAP), dtype=np.float64)


def dynamics(per_dimension: Mapping[str, float]) -> JSONDict:
    """A GapDynamics document from NRMSE per dimension."""
    if not per_dimension:
        return {"nrmse_mean": 0.0, "nrmse_worst": 0.0, "worst_dimension": None, "per_dimension": {}}
    worst = max(per_dimension, key=lambda k: (per_dimension[k], k))
    values = list(per_dimension.values())
    return {
        "nrmse_mean": float(np.mean(values)),
        "nrmse_worst": float(per_dimension[worst]),
        "worst_dimension": worst,
        "per_dimension": dict(sorted(per_dimension.items())),
    }


def channel_slices(dof: int) -> dict[str, slice]:
    """Where each sensor channel sits in the observation vector."""
    slices: dict[str, slice] = {}
    start = 0
    for channel in CHANNELS:
        size = dof if channel.startswith("joint_") else len(BASE_AXES.get(channel, "xyz"))
        slices[channel] = slice(start, start + size)
        start += size
    return slices


def observation_error(
    true: FloatArray, measured: FloatArray, dof: int
) -> tuple[float, dict[str, float]]:
    """RMS of (measured - true) over every dimension, and per channel (empty channels: 0)."""
    error = np.asarray(measured, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    overall = float(np.sqrt(np.mean(error**2))) if error.size else 0.0
    per_channel = {}
    for channel, where in channel_slices(dof).items():
        part = error[:, where]
        per_channel[channel] = float(np.sqrt(np.mean(part**2))) if part.size else 0.0
    return overall, per_channel


def perception(
    baseline: tuple[float, Mapping[str, float]], pseudo: tuple[float, Mapping[str, float]]
) -> JSONDict:
    """A GapPerception document: pseudo-reality observation error minus the baseline's."""
    base_all, base_channels = baseline
    pseudo_all, pseudo_channels = pseudo
    return {
        "value": pseudo_all - base_all,
        "baseline_observation_error": base_all,
        "pseudo_reality_observation_error": pseudo_all,
        "per_channel": {c: pseudo_channels[c] - base_channels[c] for c in sorted(base_channels)},
    }


def mean_dynamics(items: Sequence[Mapping[str, Any]], *, prefixes: Sequence[str] = ()) -> JSONDict:
    """GapDynamics over `items` (episodes, scenarios or profiles): mean and worst over all.

    nrmse_mean is the mean of the items' means, nrmse_worst the largest of their worsts
    (worst_dimension is that item's). Each dimension's NRMSE is averaged over the items
    that have it; with `prefixes` (one per item) dimensions are named
    `<prefix>:<dimension>` and kept apart.
    """
    if not items:
        return dynamics({})

    def name(i: int, key: str) -> str:
        return f"{prefixes[i]}:{key}" if prefixes else key

    merged: dict[str, list[float]] = {}
    for i, item in enumerate(items):
        for key, value in item["per_dimension"].items():
            merged.setdefault(name(i, key), []).append(float(value))
    worst = max(range(len(items)), key=lambda i: float(items[i]["nrmse_worst"]))
    dimension = items[worst]["worst_dimension"]
    return {
        "nrmse_mean": float(np.mean([float(item["nrmse_mean"]) for item in items])),
        "nrmse_worst": float(items[worst]["nrmse_worst"]),
        "worst_dimension": None if dimension is None else name(worst, dimension),
        "per_dimension": {k: float(np.mean(v)) for k, v in sorted(merged.items())},
    }


def mean_perception(items: Sequence[Mapping[str, Any]]) -> JSONDict:
    """GapPerception averaged field by field over `items`."""
    keys = ("value", "baseline_observation_error", "pseudo_reality_observation_error")
    out: JSONDict = {k: float(np.mean([float(item[k]) for item in items])) for k in keys}
    channels: dict[str, list[float]] = {}
    for item in items:
        for channel, value in item["per_channel"].items():
            channels.setdefault(channel, []).append(float(value))
    out["per_channel"] = {c: float(np.mean(v)) for c, v in sorted(channels.items())}
    return out
