"""Actuator latency, motor strength and sensor noise: the reality gaps PyBullet has no knob for.

Like dm_control's wrappers (and bullet3's minitaur env): latency is a FIFO of actions,
noise is seeded Gaussian noise plus bias on the measured channels. The true state is never
modified; the measured observation is kept separately.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from simengine.state import State
from simengine.types import FloatArray, JSONDict

# Channels in observation order; joint channels have one entry per joint, base ones three.
CHANNELS = (
    "joint_position",
    "joint_velocity",
    "base_orientation",
    "base_linear_velocity",
    "base_angular_velocity",
)
BASE_AXES = {"base_orientation": ("roll", "pitch", "yaw")}


def observation_names(dof: int) -> list[str]:
    """Names of every observation dimension, in order (SignalName shape)."""
    names: list[str] = []
    for channel in CHANNELS:
        if channel.startswith("joint_"):
            names += [f"{channel}[{i}]" for i in range(dof)]
        else:
            names += [f"{channel}.{axis}" for axis in BASE_AXES.get(channel, ("x", "y", "z"))]
    return names


def true_observation(state: State) -> FloatArray:
    """Noise-free observation vector of `state`, in `CHANNELS` order."""
    rows = true_observations(state.flat[np.newaxis], np.array([state.base_rpy]), state.dof)
    row: FloatArray = rows[0]
    return row


def true_observations(flat: FloatArray, rpy: FloatArray, dof: int) -> FloatArray:
    """The noise-free observations of many states, one row per row of `flat` (`State.flat`
    rows) and `rpy` (their `base_rpy`): copied from the state, not computed. Joint
    positions and velocities, then base velocities, are contiguous in `flat`."""
    return np.concatenate((flat[:, 13 : 13 + 2 * dof], rpy, flat[:, 7:13]), axis=1)


class SensorNoise:
    """Seeded Gaussian noise and bias per channel: measured = true + bias + N(0, std²).

    Args:
        noise: SensorNoise-shaped dict of the profile.
        dof: Number of joints.
        rng: Generator owned by this wrapper.
    """

    def __init__(self, *, noise: JSONDict, dof: int, rng: np.random.Generator) -> None:
        sizes = [dof if c.startswith("joint_") else 3 for c in CHANNELS]
        self._std = np.concatenate(
            [np.full(n, float(noise[c]["std"])) for c, n in zip(CHANNELS, sizes, strict=True)]
        )
        self._bias = np.concatenate(
            [np.full(n, float(noise[c]["bias"])) for c, n in zip(CHANNELS, sizes, strict=True)]
        )
        self._rng = rng
        self._silent = not (np.any(self._std) or np.any(self._bias))

    def measure(self, true_obs: FloatArray) -> FloatArray:
        """The measured observation; `true_obs` itself when the profile has no noise.

        `true_obs` may be one observation or many, one per row: the generator fills its
        draws in order, so rows measured together equal the same rows measured one at a
        time. `true_obs` is never modified.
        """
        if self._silent:
            return true_obs
        noise = self._rng.normal(0.0, 1.0, true_obs.shape) * self._std
        return np.asarray(true_obs + self._bias + noise, dtype=np.float64)


class ActionLatency:
    """Delays actions by `steps`: the action applied now was issued `steps` steps ago.

    Args:
        steps: Latency in steps (0: none).
        initial: Action applied until the first issued one comes out of the FIFO.
    """

    def __init__(self, *, steps: int, initial: FloatArray) -> None:
        self._fifo: deque[FloatArray] = deque(initial.copy() for _ in range(steps))

    def __call__(self, action: FloatArray) -> FloatArray:
        if not self._fifo:
            return action
        self._fifo.append(action.copy())
        return self._fifo.popleft()


def motor_forces(max_force: FloatArray, *, scale: float, default: float) -> FloatArray:
    """Force/torque limit of each motor: the URDF limit (or `default` where it is 0) * scale."""
    return np.where(max_force > 0.0, max_force, default) * scale
