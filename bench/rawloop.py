"""The reference: a raw PyBullet loop in this process, as `urdf_rollout` sets it up.

World parameters and link dynamics are set with the same calls the engine makes (one-off
set-up, so the contacts and the solver work are identical); the loop itself is plain
pybullet: a position command, `stepSimulation`, and the state reads the engine makes
(base pose, base velocity, joint states). The robot is r2d2 unless a URDF is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pybullet as p

from simengine import profiles
from simengine.state import data_path


def applied(name: str, *, seed: int, episode: int | None, dt: float) -> dict[str, Any]:
    """Profile `name` as a run applies it: domain-randomised for a batch `episode` (the
    sample `simengine.profiles` draws from seed, profile and episode), `timestep_s` = dt."""
    profile = profiles.get_profile(name)
    if episode is not None:
        sample = profiles.sample_randomization(profile, seed=seed, episode=episode)
        profile = profiles.with_randomization(profile, sample)
    profile["timestep_s"] = dt
    return profile


def world(
    profile: dict[str, Any], *, urdf: str | None = None
) -> tuple[int, int, list[int], Any, Any, Any]:
    """Connect, apply the profile, load the floor and the robot (r2d2) resting on it."""
    client = p.connect(p.DIRECT)
    profiles.apply_world(client, profile)
    plane = p.loadURDF(data_path("plane.urdf"), useFixedBase=True, physicsClientId=client)
    profiles.apply_body(client, plane, profile, role="floor")
    body = p.loadURDF(urdf or data_path("r2d2.urdf"), physicsClientId=client)
    profiles.apply_body(client, body, profile, role="robot")
    joints: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    force: list[float] = []
    for j in range(p.getNumJoints(body, physicsClientId=client)):
        info = p.getJointInfo(body, j, physicsClientId=client)
        if info[2] in (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC):
            joints.append(j)
            lo, hi = float(info[8]), float(info[9])
            lower.append(lo if lo <= hi else -np.pi)
            upper.append(hi if lo <= hi else np.pi)
            force.append((float(info[10]) or 100.0) * float(profile["motor_strength_scale"]))
    lowest = min(
        p.getAABB(body, link, physicsClientId=client)[0][2]
        for link in range(-1, p.getNumJoints(body, physicsClientId=client))
    )
    pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=client)
    p.resetBasePositionAndOrientation(
        body, (pos[0], pos[1], pos[2] - lowest + 0.001), orn, physicsClientId=client
    )
    return client, body, joints, np.array(lower), np.array(upper), force


def run(
    steps: int,
    *,
    profile_name: str = "default",
    tick: Callable[[int], None] | None = None,
) -> float:
    """Set up and run `steps` raw steps on r2d2; returns the whole wall time in seconds."""
    started = time.perf_counter()
    _rollout(profiles.get_profile(profile_name), urdf=None, steps=steps, tick=tick)
    return time.perf_counter() - started


def episode(profile: dict[str, Any], *, urdf: str, steps: int) -> float:
    """One episode of `urdf` under `profile` as applied (domain-randomised already, its
    `timestep_s` the run's dt); returns the whole wall time in seconds."""
    started = time.perf_counter()
    _rollout(profile, urdf=urdf, steps=steps, tick=None)
    return time.perf_counter() - started


def _rollout(
    profile: dict[str, Any],
    *,
    urdf: str | None,
    steps: int,
    tick: Callable[[int], None] | None,
) -> None:
    """Connect, load, step with position commands and state reads, disconnect."""
    client, body, joints, lower, upper, force = world(profile, urdf=urdf)
    mid, amp = (lower + upper) / 2, (upper - lower) / 4
    phase = np.linspace(0.0, 2 * np.pi, len(joints), endpoint=False)
    dt = float(profile["timestep_s"])
    every = max(1, steps // 100)
    for i in range(steps):
        targets = mid + amp * np.sin(np.pi * (i + 1) * dt + phase)
        p.setJointMotorControlArray(
            body,
            joints,
            p.POSITION_CONTROL,
            targetPositions=targets.tolist(),
            forces=force,
            physicsClientId=client,
        )
        p.stepSimulation(physicsClientId=client)
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=client)
        lin, ang = p.getBaseVelocity(body, physicsClientId=client)
        states = p.getJointStates(body, joints, physicsClientId=client)
        np.array([*pos, *orn, *lin, *ang, *(s[0] for s in states), *(s[1] for s in states)])
        if tick is not None and (i + 1) % every == 0:
            tick(i + 1)
    p.disconnect(physicsClientId=client)
