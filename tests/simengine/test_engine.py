from __future__ import annotations

import numpy as np
import pybullet as p
import pytest

from simengine import engine as engine_module
from simengine import profiles
from simengine.api import list_scenarios, run_spec
from simengine.engine import Engine
from simengine.errors import Diverged, InvalidAsset
from simengine.state import data_path


def test_reads_state_of_the_robot() -> None:
    with Engine(profile=profiles.get_profile("default")) as engine:
        engine.load_floor()
        robot = engine.load_robot(data_path("kuka_iiwa/model.urdf"), fixed_base=True)
        assert robot.dof == 7
        assert robot.joint_names[0] == "lbr_iiwa_joint_1"
        engine.position_motors(forces=robot.max_force)(np.full(7, 0.3))
        for _ in range(50):
            engine.step()
        state = engine.read_state()
        assert state.joint_position.shape == (7,)
        assert np.all(np.abs(state.joint_torque) > 0)
        assert engine.time == pytest.approx(50 / 240)
        engine.check_divergence(state)


def test_runaway_energy_is_divergence() -> None:
    with Engine(profile=profiles.get_profile("default")) as engine:
        engine.load_floor()
        robot = engine.load_robot(data_path("sphere_small.urdf"), position=(0, 0, 1))
        p.resetBaseVelocity(robot.body, [1e5, 0, 0], physicsClientId=engine.client)
        engine.step()
        with pytest.raises(Diverged) as info:
            engine.check_divergence(engine.read_state())
        assert info.value.failure_code == "DIVERGED"
        assert "step 1" in info.value.reason


def test_absurd_torques_are_divergence() -> None:
    with Engine(profile=profiles.get_profile("default")) as engine:
        robot = engine.load_robot(data_path("kuka_iiwa/model.urdf"), fixed_base=True)
        joints = list(robot.joint_indices)
        c = engine.client
        p.setJointMotorControlArray(
            robot.body, joints, p.VELOCITY_CONTROL, forces=[0.0] * 7, physicsClientId=c
        )
        for _ in range(50):
            p.setJointMotorControlArray(
                robot.body, joints, p.TORQUE_CONTROL, forces=[1e9] * 7, physicsClientId=c
            )
            engine.step()
        with pytest.raises(Diverged, match="joint_velocity"):
            engine.check_divergence(engine.read_state())


def test_nan_state_is_divergence() -> None:
    with Engine(profile=profiles.get_profile("default")) as engine:
        engine.load_robot(data_path("sphere_small.urdf"))
        state = engine.read_state()
        state.base_linear_velocity[0] = np.nan
        with pytest.raises(Diverged, match="NaN"):
            engine.check_divergence(state)


def test_unloadable_urdf_is_invalid_asset_without_path(tmp_path: object) -> None:
    bad = f"{tmp_path}/secret_dir/broken.urdf"
    with (
        Engine(profile=profiles.get_profile("default")) as engine,
        pytest.raises(InvalidAsset) as info,
    ):
        engine.load_robot(bad)
    assert info.value.failure_code == "INVALID_ASSET"
    assert "secret_dir" not in info.value.reason
    assert "broken.urdf" in info.value.reason


def test_same_inputs_same_state_across_clients_and_resets() -> None:
    def roll(engine: Engine, *, reset: bool = True) -> bytes:
        if reset:
            engine.reset()
        engine.load_floor()
        engine.load_robot(data_path("r2d2.urdf"), position=(0, 0, 1))
        for _ in range(100):
            engine.step()
        s = engine.read_state()
        return np.concatenate([s.base_position, s.base_orientation, s.joint_position]).tobytes()

    profile = profiles.get_profile("pseudo_reality_A")
    with Engine(profile=profile) as a, Engine(profile=profile) as b:
        first = roll(a, reset=False)  # a new client is used as it comes
        assert roll(a) == first
        assert roll(b) == first


def test_a_prepared_client_is_taken_once_and_gives_the_same_run() -> None:
    profile = profiles.get_profile("default")
    with Engine(profile=profile) as plain:
        plain.load_robot(data_path("r2d2.urdf"))
        plain.step()
        expected = plain.read_state().flat.tobytes()
    engine_module.prepare_client()
    with Engine(profile=profile) as prepared, Engine(profile=profile) as other:
        assert prepared.client != other.client
        prepared.load_robot(data_path("r2d2.urdf"))
        prepared.step()
        assert prepared.read_state().flat.tobytes() == expected


@pytest.mark.parametrize("scenario", [s["name"] for s in list_scenarios()])
def test_runs_load_no_visuals_and_move_exactly_as_with_them(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Engine.load_flags & p.URDF_IGNORE_VISUAL_SHAPES
    specs = [
        {"scenario": scenario, "profile": "default", "steps": 60, "seed": 5},
        {
            "scenario": scenario,
            "profile": "pseudo_reality_A",
            "steps": 60,
            "seed": 7,
            "dr_episode": 1,
        },
    ]
    without = [run_spec(spec)["trajectory_sha256"] for spec in specs]
    monkeypatch.setattr(Engine, "load_flags", 0)
    assert [run_spec(spec)["trajectory_sha256"] for spec in specs] == without
