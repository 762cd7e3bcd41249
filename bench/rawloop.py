"""The reference: a raw PyBullet loop in this process, as `urdf_rollout` sets it up.

World parameters and link dynamics are set with the same calls the engine makes (one-off
set-up, so the contacts and the solver work are identical); the loop itself is plain
pybullet: a position command, `stepSimulation`, and the state reads the engine makes
(base pose, base velocity, joint states). The robot is r2d2 unless a URDF is given.

The same episode: given the actions a run applied (`applied_actions`: exact, where a
replay stores them rounded to float32), the loop commands exactly those, so both sides do
the same physics, bit for bit. The built-in sine sweep is a
different motion: on the seed robot its contacts cost half the solver time of the
episode the service runs (stepSimulation 3.9 ms against 7.7 ms for 50 steps, measured
side by side), which made a ratio against it look worse than the service is.

`steady_malloc` fixes glibc's allocation thresholds for this process: a raw episode
connects and disconnects a client, and depending on what the process allocated before,
glibc's dynamic mmap threshold either keeps those buffers on the heap (about 12 ms an
episode here) or maps and unmaps them every time (about 40 ms, 7,500 page faults an
episode). Benches call it first, so the reference is always the fast one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pybullet as p

from simengine import api, profiles, replay
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


_M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3


def steady_malloc() -> None:
    """Fix this process's glibc mmap and trim thresholds (see the module docstring);
    nothing elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's largest
    libc.mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024)


def actions_of(replay_npz: bytes) -> Any:
    """The actions a run applied, one row per step, as its replay archive stores them
    (float32: see `applied_actions` for the exact ones)."""
    with np.load(io.BytesIO(replay_npz)) as arrays:
        return arrays["action"]


def applied_actions(run: dict[str, Any], *, stored: Any = None) -> Any:
    """The actions an in-process run of the spec `run` applies, exactly (float64).

    A replay stores them as float32, and commanding the rounded values is another episode:
    r2d2's trajectory leaves the run's at step 2. Runs are deterministic, so the service's
    run of the same spec applied these very values; given `stored` (that run's replay
    actions) they are checked against it, so a spec that is not the service's episode
    fails here rather than measuring different physics.
    """
    actions: list[Any] = []

    class Capture(replay.Recorder):
        def record(self, state: Any, action: Any, observation: Any) -> None:
            actions.append(np.array(action, dtype=np.float64))
            super().record(state, action, observation)

    original = replay.Recorder
    replay.Recorder = Capture  # type: ignore[misc]  # the runner looks it up per run
    try:
        api.run_spec(run)
    finally:
        replay.Recorder = original  # type: ignore[misc]
    exact = np.array(actions, dtype=np.float64)
    if stored is not None and not np.array_equal(exact.astype(np.float32), stored):
        raise RuntimeError(f"the in-process run of {run} is not the service's episode")
    return exact


def run(
    steps: int,
    *,
    profile_name: str = "default",
    tick: Callable[[int], None] | None = None,
    actions: Any = None,
) -> float:
    """Set up and run `steps` raw steps on r2d2 (commanding `actions` if given, else the
    sine sweep); returns the whole wall time in seconds."""
    started = time.perf_counter()
    profile = profiles.get_profile(profile_name)
    _rollout(profile, urdf=None, steps=steps, tick=tick, actions=actions)
    return time.perf_counter() - started


def episode(profile: dict[str, Any], *, urdf: str, steps: int, actions: Any = None) -> float:
    """One episode of `urdf` under `profile` as applied (domain-randomised already, its
    `timestep_s` the run's dt), commanding `actions` if given; returns the whole wall time
    in seconds."""
    started = time.perf_counter()
    _rollout(profile, urdf=urdf, steps=steps, tick=None, actions=actions)
    return time.perf_counter() - started


def _rollout(
    profile: dict[str, Any],
    *,
    urdf: str | None,
    steps: int,
    tick: Callable[[int], None] | None,
    actions: Any,
) -> None:
    """Connect, load, step with position commands and state reads, disconnect."""
    client, body, joints, lower, upper, force = world(profile, urdf=urdf)
    mid, amp = (lower + upper) / 2, (upper - lower) / 4
    phase = np.linspace(0.0, 2 * np.pi, len(joints), endpoint=False)
    dt = float(profile["timestep_s"])
    every = max(1, steps // 100)
    for i in range(steps):
        if actions is None:
            targets = mid + amp * np.sin(np.pi * (i + 1) * dt + phase)
        else:
            targets = actions[i]
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
