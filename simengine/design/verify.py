"""A built linkage driven to its joint limits in pybullet: does it load, move and stay sane?

Runs only in an isolated simulation child (it imports pybullet).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pybullet as p

from simengine.types import JSONDict

GRAVITY_M_S2 = -9.81
TIME_STEP_S = 1 / 240
# A joint whose range of positions over the run is below this did not move.
MOVED_MIN = 1e-3
# How far (rad or m) past a limit a joint may go and still be within its limits.
LIMIT_TOLERANCE = 1e-2
# Continuous joints have no limits: they are driven to +this, then -this (rad).
CONTINUOUS_TARGET_RAD = 1.0
# The motor force when the URDF gives no effort limit (N·m or N).
DEFAULT_FORCE = 100.0
_PROGRESS_CALLS = 100


def verify(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Load the URDF on a fixed base and drive every movable joint to its upper, then lower limit.

    Args:
        job: {"urdf": absolute path (meshes relative to it), "steps": int >= 1, "joints":
            [{"name", "type", "lower" | None, "upper" | None}]}.
        progress: Called with (steps_done, steps_total) about 100 times.
        should_stop: Polled before every step; True ends the run early.

    Returns:
        {"loaded", "steps" (simulated), "finite", "joints": [{"name", "moved",
        "within_limits", "min_position", "max_position"}]} for each movable joint of the
        job; a URDF pybullet refuses gives {"loaded": False, "steps": 0, "finite": False,
        "joints": []}.

    Raises:
        ValueError: a joint of the job is not in the URDF (the job is not its linkage's).
    """
    total = int(job["steps"])
    movable = [joint for joint in job["joints"] if joint["type"] != "fixed"]
    client = p.connect(p.DIRECT)
    try:
        p.setGravity(0, 0, GRAVITY_M_S2, physicsClientId=client)
        p.setTimeStep(TIME_STEP_S, physicsClientId=client)
        try:
            body = p.loadURDF(
                str(job["urdf"]),
                useFixedBase=True,
                flags=p.URDF_USE_INERTIA_FROM_FILE,
                physicsClientId=client,
            )
        except p.error:
            return {"loaded": False, "steps": 0, "finite": False, "joints": []}
        index = {
            p.getJointInfo(body, number, physicsClientId=client)[1].decode("utf-8"): number
            for number in range(p.getNumJoints(body, physicsClientId=client))
        }
        missing = [joint["name"] for joint in movable if joint["name"] not in index]
        if missing:
            raise ValueError(f"joints {missing} are not in the URDF")
        seen: dict[int, list[float]] = {index[joint["name"]]: [] for joint in movable}
        finite = _record(body, client, seen)
        done, stride = 0, max(1, total // _PROGRESS_CALLS)
        while finite and done < total and not (should_stop is not None and should_stop()):
            if done in (0, (total + 1) // 2):
                _drive(body, client, movable, index, upper=done == 0)
            p.stepSimulation(physicsClientId=client)
            done += 1
            finite = _record(body, client, seen)
            if progress is not None and (done % stride == 0 or done == total):
                progress(done, total)
        finite = finite and _base_finite(body, client)
        joints = [_joint_report(joint, seen[index[joint["name"]]]) for joint in movable]
        return {"loaded": True, "steps": done, "finite": finite, "joints": joints}
    finally:
        p.disconnect(physicsClientId=client)


def _drive(
    body: int, client: int, movable: list[JSONDict], index: dict[str, int], *, upper: bool
) -> None:
    """Position control of every movable joint toward one end of its range."""
    for joint in movable:
        number = index[joint["name"]]
        if joint["type"] == "continuous":
            target = CONTINUOUS_TARGET_RAD if upper else -CONTINUOUS_TARGET_RAD
        else:
            target = float(joint["upper"] if upper else joint["lower"])
        info = p.getJointInfo(body, number, physicsClientId=client)
        effort, velocity = float(info[10]), float(info[11])
        extra = {"maxVelocity": velocity} if velocity > 0 else {}
        p.setJointMotorControl2(
            body,
            number,
            p.POSITION_CONTROL,
            targetPosition=target,
            force=effort if effort > 0 else DEFAULT_FORCE,
            physicsClientId=client,
            **extra,
        )


def _record(body: int, client: int, seen: dict[int, list[float]]) -> bool:
    """Add each joint's position to `seen` (as [min, max]); False if a state is not finite."""
    if not seen:
        return True
    numbers = list(seen)
    states = p.getJointStates(body, numbers, physicsClientId=client)
    for number, (position, velocity, *_) in zip(numbers, states, strict=True):
        if not (math.isfinite(position) and math.isfinite(velocity)):
            return False
        span = seen[number]
        seen[number] = [min(span[0], position), max(span[1], position)] if span else [position] * 2
    return True


def _base_finite(body: int, client: int) -> bool:
    position, orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
    linear, angular = p.getBaseVelocity(body, physicsClientId=client)
    return all(math.isfinite(value) for value in (*position, *orientation, *linear, *angular))


def _joint_report(joint: JSONDict, span: list[float]) -> JSONDict:
    low, high = span if span else (0.0, 0.0)  # empty only if the zero pose was not finite
    within = joint["type"] == "continuous" or (
        low >= float(joint["lower"]) - LIMIT_TOLERANCE
        and high <= float(joint["upper"]) + LIMIT_TOLERANCE
    )
    return {
        "name": joint["name"],
        "moved": high - low > MOVED_MIN,
        "within_limits": within,
        "min_position": low,
        "max_position": high,
    }
