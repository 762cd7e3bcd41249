from __future__ import annotations

import os

import numpy as np
import pytest

from simengine import api
from simengine.cpu import NUMPY_AVX512_TARGETS, NUMPY_CPU_ENV
from simengine.engine import Engine
from simengine.errors import Diverged, InvalidConfig, UnknownProfile, UnknownScenario
from simengine.profiles import get_profile
from simengine.scenarios import SUITE
from simengine.scenarios.urdf_rollout import SWEEP_ROWS
from simengine.state import data_path
from tests.simengine.fresh import everything, in_fresh_process, trajectory
from tests.simengine.schemas import errors

SCENARIOS = [s["name"] for s in api.list_scenarios()]
STEPS = 40


def _spec(name: str, **extra: object) -> dict[str, object]:
    return {"scenario": name, "profile": "pseudo_reality_A", "seed": 5, "steps": STEPS} | extra


def test_at_least_five_scenarios_matching_the_contract() -> None:
    listed = api.list_scenarios()
    assert {"drop_test", "arm_reach", "quadruped_stand", "push_slide", "urdf_rollout"} <= set(
        SCENARIOS
    )
    assert sorted(SCENARIOS) == SCENARIOS
    for scenario in listed:
        assert errors("Scenario", scenario) == []
        keys = {m["key"] for m in scenario["metrics"]}
        assert scenario["primary_metric"] in keys


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_matches_contract_and_repeats_bit_for_bit(name: str) -> None:
    first = api.run_spec(_spec(name))
    second = api.run_spec(_spec(name))
    assert first["trajectory_sha256"] == second["trajectory_sha256"]
    assert first["replay_npz"] == second["replay_npz"]
    metrics = first["metrics"]
    assert errors("RunMetrics", metrics) == []
    assert metrics["steps"] == STEPS
    assert not metrics["partial"]
    declared = {m["key"] for s in api.list_scenarios() if s["name"] == name for m in s["metrics"]}
    assert set(metrics["task"]) <= declared
    assert {"success", "score"} <= set(metrics["task"])
    assert errors("MetricHistory", first["history"]) == []
    assert errors("ReplayManifest", first["manifest"]) == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_seed_changes_the_trajectory(name: str) -> None:
    a = api.run_spec(_spec(name, seed=1, record_replay=False))
    b = api.run_spec(_spec(name, seed=2, record_replay=False))
    assert a["replay_npz"] is None
    assert a["manifest"] is None
    assert a["trajectory_sha256"] != b["trajectory_sha256"]


def test_fresh_process_gives_the_same_hashes() -> None:
    specs = [_spec(name) for name in SCENARIOS]
    specs.append(_spec("arm_reach", dr_episode=4))
    fresh = in_fresh_process(specs, summary="trajectory")
    assert fresh == [trajectory(api.run_spec(s)) for s in specs]


def test_results_do_not_depend_on_numpy_cpu_dispatch() -> None:
    # Simulation children run numpy without its AVX-512 kernels (simengine.cpu); this
    # process has them (where the CPU does). Metrics, history and replay must be the same
    # bits either way: scores use libm (math), not numpy's dispatched exp/arccos.
    specs = [
        _spec(name, profile=profile, seed=seed, steps=240)
        for name in SCENARIOS
        for profile in ("default", "pseudo_reality_A")
        for seed in (1, 2, 3)
    ]
    env = {**os.environ, NUMPY_CPU_ENV: NUMPY_AVX512_TARGETS}
    children = in_fresh_process(specs, summary="everything", env=env)
    assert children == [everything(api.run_spec(s)) for s in specs]


def test_domain_randomisation_is_recorded_and_seeded() -> None:
    a = api.run_spec(_spec("push_slide", profile="slippery_warehouse", dr_episode=1))
    b = api.run_spec(_spec("push_slide", profile="slippery_warehouse", dr_episode=2))
    assert set(a["dr_sample"]) == {"floor_lateral_friction", "mass_scale"}
    assert a["manifest"]["dr_sample"] == a["dr_sample"]
    floor = a["manifest"]["profile"]["floor_friction"]["lateral"]
    assert floor == a["dr_sample"]["floor_lateral_friction"]
    assert a["trajectory_sha256"] != b["trajectory_sha256"]


def test_friction_changes_the_slide() -> None:
    def slide(profile: str) -> float:
        spec = _spec("push_slide", profile=profile, steps=480, record_replay=False)
        return float(api.run_spec(spec)["metrics"]["task"]["slide_distance_m"])

    assert slide("slippery_warehouse") > 3 * slide("default")


def test_urdf_rollout_accepts_a_path_and_hashes_it() -> None:
    result = api.run_spec(_spec("urdf_rollout", urdf_path=data_path("r2d2.urdf")))
    manifest = result["manifest"]
    assert manifest["urdf_path"] == "r2d2.urdf"  # never the absolute path
    assert len(manifest["urdf_sha256"]) == 64
    assert len(manifest["joint_names"]) == 8


def test_progress_and_stop() -> None:
    seen: list[tuple[int, int]] = []
    result = api.run_spec(
        _spec("arm_reach", steps=400),
        progress=lambda done, total: seen.append((done, total)),
        should_stop=lambda: len(seen) >= 10,
    )
    assert seen[0] == (4, 400)
    metrics = result["metrics"]
    assert metrics["partial"]
    assert 0 < metrics["steps"] < 400
    assert result["manifest"]["partial"]
    assert result["manifest"]["trajectory_sha256"] is None
    assert seen[-1] == (metrics["steps"], 400)  # the exact count is reported last


def test_stop_before_the_first_step_gives_an_empty_partial_result() -> None:
    result = api.run_spec(_spec("urdf_rollout"), should_stop=lambda: True)
    assert result["metrics"]["steps"] == 0
    assert result["metrics"]["partial"]
    assert result["manifest"]["steps_recorded"] == 0
    assert errors("RunMetrics", result["metrics"]) == []


def test_absurd_push_diverges() -> None:
    spec = _spec("push_slide", steps=480, params={"push_force_n": 50, "push_duration_s": 10})
    with pytest.raises(Diverged) as info:
        api.run_spec(spec)
    assert info.value.failure_code == "DIVERGED"
    partial = info.value.partial_output
    assert partial is not None
    metrics, manifest = partial["metrics"], partial["manifest"]
    assert metrics["partial"]
    assert metrics["status"] == "FAILED"
    assert 0 < metrics["steps"] == manifest["steps_recorded"] < 480
    assert manifest["partial"]
    assert errors("RunMetrics", metrics) == []
    assert errors("ReplayManifest", manifest) == []


@pytest.mark.parametrize(
    ("spec", "error", "text"),
    [
        ({"scenario": "nope"}, UnknownScenario, "arm_reach"),
        ({"scenario": "drop_test", "profile": "mars"}, UnknownProfile, "pseudo_reality_A"),
        ({"scenario": "drop_test", "steps": 0}, InvalidConfig, "steps: must be in 1..1000000"),
        ({"scenario": "drop_test", "steps": True}, InvalidConfig, "steps"),
        ({"scenario": "drop_test", "dt": 0.5}, InvalidConfig, "dt: must be in (0, 0.1]"),
        ({"scenario": "drop_test", "dt": float("nan")}, InvalidConfig, "dt"),
        ({"scenario": "drop_test", "dt": float("inf")}, InvalidConfig, "dt"),
        ({"scenario": "drop_test", "seed": -1}, InvalidConfig, "seed"),
        ({"scenario": "drop_test", "params": {"x": 1}}, InvalidConfig, "valid: drop_height_m"),
        (
            {"scenario": "drop_test", "params": {"drop_height_m": 9}},
            InvalidConfig,
            "params.drop_height_m: must be in 0..5",
        ),
        (
            {"scenario": "drop_test", "params": {"drop_height_m": float("nan")}},
            InvalidConfig,
            "drop_height_m",
        ),
        ({"scenario": "drop_test", "urdf_path": "a.urdf"}, InvalidConfig, "does not accept"),
        ({"scenario": "drop_test", "bogus": 1}, InvalidConfig, "bogus"),
        ({"scenario": "drop_test", "steps": 1_000_001}, InvalidConfig, "steps: must be in"),
    ],
)
def test_bad_specs_are_rejected_before_simulating(
    spec: dict[str, object], error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as info:
        api.run_spec(spec)
    assert text in str(info.value)


@pytest.mark.parametrize("profile", [p["name"] for p in api.list_profiles()])
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_runs_under_every_profile(name: str, profile: str) -> None:
    result = api.run_spec(_spec(name, profile=profile, steps=30, record_replay=False))
    assert result["metrics"]["steps"] == 30
    assert result["applied_profile"]["name"] == profile


def test_urdf_rollout_sweep_rows_equal_the_sweep_of_each_step() -> None:
    # The sweep is computed SWEEP_ROWS steps at a time; its commands must be the very
    # values of the per-step formula (rate-limited), bit for bit, across row blocks.
    steps = 2 * SWEEP_ROWS + 5
    profile = {**get_profile("default"), "timestep_s": 1 / 240}
    task = SUITE["urdf_rollout"](
        params={"frequency_hz": 2.0}, rng=np.random.default_rng(3), steps=steps, urdf_path=None
    )
    with Engine(profile=profile) as engine:
        robot = task.load(engine)
        mid, amp = (robot.lower + robot.upper) / 2, (robot.upper - robot.lower) / 2 * 0.5
        phase = np.random.default_rng(3).uniform(0.0, 2 * np.pi, robot.dof)
        last = engine.read_state().joint_position.copy()
        limit = 3.0 * engine.timestep
        for step in range(steps):
            sweep = mid + amp * np.sin(2 * np.pi * 2.0 * ((step + 1) * engine.timestep) + phase)
            last = last + np.minimum(np.maximum(sweep - last, -limit), limit)
            command = task.before_step(engine, step=step, observation=None)
            assert command.tobytes() == last.tobytes(), step
