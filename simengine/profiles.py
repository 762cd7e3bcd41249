"""Reality profiles: data files, their application to a PyBullet client, domain randomisation.

Friction in Bullet is the PRODUCT of both bodies' coefficients: a floor of 0.2 and a robot
of 0.8 give an effective 0.16. Profiles set floor and robot friction with that in mind.
"""

from __future__ import annotations

import copy
import json
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from simengine.errors import UnknownProfile
from simengine.types import JSONDict

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DR_STREAM = 0xD12A  # keeps DR draws apart from the task and noise streams of the same seed

# Randomisable parameter -> (path in the profile, lower bound, upper bound of the schema).
DR_TARGETS: dict[str, tuple[tuple[str | int, ...], float, float]] = {
    "gravity_z": (("gravity", 2), -100.0, 100.0),
    "floor_lateral_friction": (("floor_friction", "lateral"), 0.0, 10.0),
    "floor_spinning_friction": (("floor_friction", "spinning"), 0.0, 10.0),
    "floor_rolling_friction": (("floor_friction", "rolling"), 0.0, 10.0),
    "robot_lateral_friction": (("robot_friction", "lateral"), 0.0, 10.0),
    "robot_spinning_friction": (("robot_friction", "spinning"), 0.0, 10.0),
    "robot_rolling_friction": (("robot_friction", "rolling"), 0.0, 10.0),
    "restitution": (("restitution",), 0.0, 1.0),
    "mass_scale": (("mass_scale",), 0.01, 100.0),
    "link_linear_damping": (("link_damping", "linear"), 0.0, 10.0),
    "link_angular_damping": (("link_damping", "angular"), 0.0, 10.0),
    "joint_damping": (("joint_damping",), 0.0, 100.0),
    "motor_strength_scale": (("motor_strength_scale",), 0.0, 10.0),
    "actuator_latency_steps": (("actuator_latency_steps",), 0.0, 100.0),
}


@cache
def _all() -> dict[str, JSONDict]:
    found: dict[str, JSONDict] = {}
    for path in sorted(PROFILE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["name"]] = data
    return found


def profile_names() -> list[str]:
    """Names of every profile, sorted."""
    return sorted(_all())


def list_profiles() -> list[JSONDict]:
    """Every profile (RealityProfile shape), sorted by name; copies, safe to mutate."""
    return [copy.deepcopy(_all()[n]) for n in profile_names()]


def get_profile(name: str) -> JSONDict:
    """A copy of one profile.

    Raises:
        UnknownProfile: listing the valid names.
    """
    profiles = _all()
    if name not in profiles:
        raise UnknownProfile(name, profiles)
    return copy.deepcopy(profiles[name])


def sample_randomization(profile: JSONDict, *, seed: int, episode: int) -> dict[str, float]:
    """Draw one episode's domain-randomised values from the profile's ranges.

    Uses its own generator seeded by (seed, profile name, episode) and draws in the fixed
    key order of `DR_TARGETS`, so the sample depends only on those inputs: two profiles
    with the same ranges still draw independent samples in the same batch.

    Returns:
        Sampled value by DomainRandomization key; only non-null ranges appear.
    """
    rng = np.random.default_rng([seed, profile_key(str(profile["name"])), episode, DR_STREAM])
    sample: dict[str, float] = {}
    for key, (_, lo, hi) in DR_TARGETS.items():
        rng_range = profile["randomization"].get(key)
        if rng_range is None:
            continue
        low, high = float(rng_range["min"]), float(rng_range["max"])
        value = float(rng.uniform(low, high))
        if key == "actuator_latency_steps":
            value = float(round(value))
        sample[key] = min(max(value, lo), hi)
    return sample


def profile_key(name: str) -> int:
    """A stable 32-bit number for a profile name (CRC-32 of its UTF-8 bytes), for seeding."""
    return zlib.crc32(name.encode("utf-8"))


def with_randomization(profile: JSONDict, sample: dict[str, float]) -> JSONDict:
    """A copy of `profile` with the sampled values in place."""
    out = copy.deepcopy(profile)
    for key, value in sample.items():
        path = DR_TARGETS[key][0]
        node: Any = out
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = int(value) if key == "actuator_latency_steps" else value
    return out


def apply_world(client: int, profile: JSONDict) -> None:
    """Set gravity, timestep, substeps and solver iterations on `client`."""
    import pybullet as p  # lazily: listing and validating profiles must not load the engine

    gx, gy, gz = (float(v) for v in profile["gravity"])
    p.setGravity(gx, gy, gz, physicsClientId=client)
    p.setPhysicsEngineParameter(
        fixedTimeStep=float(profile["timestep_s"]),
        numSubSteps=int(profile["substeps"]),
        numSolverIterations=int(profile["solver_iterations"]),
        deterministicOverlappingPairs=1,
        physicsClientId=client,
    )


def apply_body(client: int, body: int, profile: JSONDict, *, role: str) -> None:
    """Apply friction and restitution (and, for robots, mass scale and damping) to every link.

    Args:
        client: PyBullet client id.
        body: Body id.
        profile: RealityProfile-shaped dict.
        role: "floor" (floor friction only) or "robot".
    """
    import pybullet as p

    friction = profile["floor_friction"] if role == "floor" else profile["robot_friction"]
    links = range(-1, p.getNumJoints(body, physicsClientId=client))
    for link in links:
        kwargs: dict[str, float] = {
            "lateralFriction": float(friction["lateral"]),
            "spinningFriction": float(friction["spinning"]),
            "rollingFriction": float(friction["rolling"]),
            "restitution": float(profile["restitution"]),
        }
        if role == "robot":
            mass = float(p.getDynamicsInfo(body, link, physicsClientId=client)[0])
            if mass > 0.0:
                kwargs["mass"] = mass * float(profile["mass_scale"])
            kwargs["linearDamping"] = float(profile["link_damping"]["linear"])
            kwargs["angularDamping"] = float(profile["link_damping"]["angular"])
            if link >= 0:
                kwargs["jointDamping"] = float(profile["joint_damping"])
        p.changeDynamics(body, link, physicsClientId=client, **kwargs)
