"""Validation of a run spec, before any physics is loaded."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from simengine import profiles
from simengine.errors import InvalidConfig, UnknownScenario
from simengine.scenarios import SUITE

MAX_STEPS = 1_000_000
MAX_DT = 0.1
MAX_SEED = 2**32 - 1
# What a run gets when its request leaves these out (every API, the CLI and batches).
DEFAULT_PROFILE = "default"
DEFAULT_SEED = 0
KEYS = {
    "scenario",
    "profile",
    "seed",
    "steps",
    "dt",
    "params",
    "urdf_path",
    "urdf_label",
    "record_replay",
    "dr_episode",
    "run_id",
}


@dataclass(frozen=True)
class RunSpec:
    """A validated run spec; `steps` and `dt` resolved to the defaults where absent."""

    scenario: str
    profile: str
    seed: int
    steps: int
    dt: float
    params: dict[str, float]
    urdf_path: str | None
    urdf_label: str | None
    record_replay: bool
    dr_episode: int | None
    run_id: str


def _int(spec: dict[str, Any], key: str, lo: int, hi: int, default: int | None) -> int | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfig(key, f"must be an integer in {lo}..{hi}")
    if not lo <= value <= hi:
        raise InvalidConfig(key, f"must be in {lo}..{hi}, got {value}")
    return value


def validate(spec: dict[str, Any]) -> RunSpec:
    """Check every field of a run spec.

    Raises:
        UnknownScenario, UnknownProfile: listing the valid names.
        InvalidConfig: naming the field and its valid range.
    """
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise InvalidConfig(unknown[0], f"unknown field; valid: {', '.join(sorted(KEYS))}")
    scenario = spec.get("scenario")
    if not isinstance(scenario, str) or scenario not in SUITE:
        raise UnknownScenario(str(scenario), SUITE)
    task = SUITE[scenario]
    name = spec.get("profile", DEFAULT_PROFILE)
    profile = profiles.get_profile(name if isinstance(name, str) else str(name))

    seed = _int(spec, "seed", 0, MAX_SEED, DEFAULT_SEED)
    steps = _int(spec, "steps", 1, MAX_STEPS, None) or task.default_steps
    dr_episode = _int(spec, "dr_episode", 0, MAX_SEED, None)

    dt = spec.get("dt")
    if dt is None:
        dt = float(profile["timestep_s"])
    if isinstance(dt, bool) or not isinstance(dt, int | float) or not math.isfinite(dt):
        raise InvalidConfig("dt", f"must be a finite number in (0, {MAX_DT}]")
    if not 0 < dt <= MAX_DT:
        raise InvalidConfig("dt", f"must be in (0, {MAX_DT}], got {dt}")

    params = _params(spec.get("params") or {}, task.params)

    urdf_path = spec.get("urdf_path")
    if urdf_path is not None:
        if not task.accepts_urdf:
            raise InvalidConfig("urdf_path", f"scenario {scenario!r} does not accept a URDF")
        if not isinstance(urdf_path, str) or not urdf_path.endswith(".urdf"):
            raise InvalidConfig("urdf_path", "must be a path ending in .urdf")
    label = spec.get("urdf_label")
    if urdf_path is not None and label is None:
        label = os.path.basename(urdf_path) if os.path.isabs(urdf_path) else urdf_path

    record = spec.get("record_replay", True)
    if not isinstance(record, bool):
        raise InvalidConfig("record_replay", "must be true or false")
    run_id = spec.get("run_id") or "run_local"
    return RunSpec(
        scenario=scenario,
        profile=profile["name"],
        seed=int(seed or 0),
        steps=steps,
        dt=float(dt),
        params=params,
        urdf_path=urdf_path,
        urdf_label=label,
        record_replay=record,
        dr_episode=dr_episode,
        run_id=str(run_id),
    )


def _params(given: Any, declared: tuple[Any, ...]) -> dict[str, float]:
    if not isinstance(given, dict):
        raise InvalidConfig("params", "must be an object of name -> number")
    by_name = {prm.name: prm for prm in declared}
    out: dict[str, float] = {}
    for key, value in sorted(given.items()):
        field = f"params.{key}"
        if key not in by_name:
            valid = ", ".join(sorted(by_name)) or "none"
            raise InvalidConfig(field, f"unknown parameter; valid: {valid}")
        prm = by_name[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidConfig(field, "must be a number")
        if not math.isfinite(value) or not prm.minimum <= value <= prm.maximum:
            raise InvalidConfig(field, f"must be in {prm.minimum:g}..{prm.maximum:g}, got {value}")
        out[key] = float(value)
    return out
