"""Open-loop replays (G_dyn, G_perc) with the real engine."""

from __future__ import annotations

import numpy as np
import pytest

from simengine import api, gaps, openloop
from simengine import replay as engine_replay

STEPS = 60


def _job(scenario: str, profiles: list[str]) -> dict:
    run = {"scenario": scenario, "profile": "default", "seed": 3, "steps": STEPS, "dr_episode": 1}
    recorded = api.run_spec(run)
    actions = engine_replay.from_npz(recorded["replay_npz"])["action"]
    return {"run": run, "profiles": profiles, "actions": actions.astype(float).tolist()}


@pytest.mark.parametrize("scenario", ["arm_reach", "push_slide"])
def test_the_baseline_replayed_against_itself_has_no_gap(scenario: str) -> None:
    result = openloop.gap_spec(_job(scenario, ["default"]))
    same = result["profiles"]["default"]
    assert result["steps"] == STEPS
    assert same["G_dyn"]["nrmse_worst"] == 0.0
    assert same["G_perc"]["value"] == 0.0


def test_pseudo_reality_has_a_dynamics_and_a_perception_gap() -> None:
    job = _job("arm_reach", ["pseudo_reality_A"])
    first = openloop.gap_spec(job)
    gap = first["profiles"]["pseudo_reality_A"]
    assert gap["G_dyn"]["nrmse_mean"] > 0
    assert set(gap["G_dyn"]["per_dimension"]) == set(first["dimensions"])
    # default has no sensor noise; pseudo_reality_A has encoder and IMU noise.
    assert gap["G_perc"]["baseline_observation_error"] == 0.0
    assert gap["G_perc"]["value"] > 0
    assert gap["G_perc"]["per_channel"]["joint_position"] > 0
    assert openloop.gap_spec(job) == first  # deterministic


def test_replay_under_the_baseline_reproduces_the_recorded_states() -> None:
    job = _job("arm_reach", [])
    recorded = engine_replay.from_npz(api.run_spec(job["run"])["replay_npz"])
    states, _, _ = openloop.replay(job["run"], np.asarray(job["actions"]))
    dof = recorded["joint_position"].shape[1]
    joints = states[:, 13 : 13 + dof]
    np.testing.assert_allclose(joints, recorded["joint_position"], atol=1e-5)


def test_nrmse_and_dynamics() -> None:
    reference = np.array([[0.0, 1.0], [2.0, 1.0]])
    other = np.array([[1.0, 1.0], [3.0, 1.0], [9.0, 9.0]])
    per_dim = gaps.nrmse(reference, other)  # compared over the common 2 steps
    # RMSE 1 over the range of both trajectories (0..3); a dimension constant in both: 0.
    np.testing.assert_allclose(per_dim, [1 / 3, 0.0])
    # Constant under the baseline, moving under the other: about 1, not RMSE / 1e-6.
    still = np.array([[0.0], [0.0], [0.0]])
    moving = np.array([[0.0], [0.5], [1.0]])
    np.testing.assert_allclose(gaps.nrmse(still, moving), [np.sqrt(1.25 / 3)])
    doc = gaps.dynamics({"a": 0.5, "b": 0.0})
    assert (doc["nrmse_mean"], doc["nrmse_worst"], doc["worst_dimension"]) == (0.25, 0.5, "a")
    merged = gaps.mean_dynamics([doc, gaps.dynamics({"a": 0.1, "b": 0.9})], prefixes=["s", "t"])
    assert merged["nrmse_worst"] == 0.9
    assert merged["worst_dimension"] == "t:b"
    assert merged["per_dimension"]["s:a"] == 0.5
