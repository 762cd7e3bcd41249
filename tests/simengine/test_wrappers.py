from __future__ import annotations

import numpy as np

from simengine import profiles
from simengine.wrappers import ActionLatency, SensorNoise, motor_forces, observation_names


def test_latency_is_a_fifo() -> None:
    latency = ActionLatency(steps=2, initial=np.zeros(1))
    out = [float(latency(np.array([float(i)]))[0]) for i in range(1, 5)]
    assert out == [0.0, 0.0, 1.0, 2.0]


def test_no_latency_passes_through() -> None:
    latency = ActionLatency(steps=0, initial=np.zeros(2))
    assert latency(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_noise_is_seeded_and_leaves_truth_alone() -> None:
    noise_cfg = profiles.get_profile("pseudo_reality_A")["sensor_noise"]
    truth = np.arange(2 * 3 + 9, dtype=np.float64)
    kept = truth.copy()
    a = SensorNoise(noise=noise_cfg, dof=3, rng=np.random.default_rng(1)).measure(truth)
    b = SensorNoise(noise=noise_cfg, dof=3, rng=np.random.default_rng(1)).measure(truth)
    c = SensorNoise(noise=noise_cfg, dof=3, rng=np.random.default_rng(2)).measure(truth)
    assert np.array_equal(truth, kept)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    bias = noise_cfg["joint_position"]["bias"]
    assert abs(float(np.mean(a[:3] - truth[:3])) - bias) < 0.01


def test_silent_noise_is_exact() -> None:
    cfg = profiles.get_profile("default")["sensor_noise"]
    truth = np.linspace(0, 1, 13)
    measured = SensorNoise(noise=cfg, dof=2, rng=np.random.default_rng(0)).measure(truth)
    assert np.array_equal(measured, truth)


def test_observation_names_and_motor_forces() -> None:
    names = observation_names(2)
    assert names[:4] == [
        "joint_position[0]",
        "joint_position[1]",
        "joint_velocity[0]",
        "joint_velocity[1]",
    ]
    assert names[4] == "base_orientation.roll"
    assert len(names) == 13
    forces = motor_forces(np.array([10.0, 0.0]), scale=0.5, default=4.0)
    assert forces.tolist() == [5.0, 2.0]
