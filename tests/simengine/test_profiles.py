from __future__ import annotations

import pybullet as p
import pytest

from simengine import profiles
from simengine.engine import Engine
from simengine.errors import UnknownProfile
from tests.simengine.schemas import errors

NAMES = profiles.profile_names()


def test_required_profiles_exist_sorted() -> None:
    assert {"default", "slippery_warehouse", "pseudo_reality_A"} <= set(NAMES)
    assert len(NAMES) >= 5
    assert sorted(NAMES) == NAMES
    assert [x["name"] for x in profiles.list_profiles()] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_profile_matches_contract(name: str) -> None:
    profile = profiles.get_profile(name)
    assert errors("RealityProfile", profile) == []
    assert "effective" in profile["description"]  # friction documented as a product
    for key, rng in profile["randomization"].items():
        if rng is not None:
            _, lo, hi = profiles.DR_TARGETS[key]
            assert lo <= rng["min"] <= rng["max"] <= hi


def test_unknown_profile_lists_valid_names() -> None:
    with pytest.raises(UnknownProfile) as info:
        profiles.get_profile("nope")
    assert "default" in info.value.reason


@pytest.mark.parametrize("name", NAMES)
def test_randomization_is_seeded_and_in_range(name: str) -> None:
    profile = profiles.get_profile(name)
    a = profiles.sample_randomization(profile, seed=7, episode=3)
    assert a == profiles.sample_randomization(profile, seed=7, episode=3)
    expected = {k for k, v in profile["randomization"].items() if v is not None}
    assert set(a) == expected
    for key, value in a.items():
        rng = profile["randomization"][key]
        assert rng["min"] - 0.5 <= value <= rng["max"] + 0.5
    if expected:
        others = [profiles.sample_randomization(profile, seed=7, episode=e) for e in range(4, 8)]
        assert any(o != a for o in others)
    applied = profiles.with_randomization(profile, a)
    assert errors("RealityProfile", applied) == []


@pytest.mark.parametrize("name", ["low_gravity_moon", "slippery_warehouse"])
def test_whole_profile_applied_after_every_reset(name: str) -> None:
    from simengine.state import data_path

    profile = profiles.get_profile(name)
    with Engine(profile=profile) as engine:
        for _ in range(2):
            # Something that resetSimulation would otherwise keep or lose.
            p.setPhysicsEngineParameter(
                fixedTimeStep=0.01,
                numSubSteps=5,
                numSolverIterations=3,
                physicsClientId=engine.client,
            )
            p.setGravity(0, 0, 0, physicsClientId=engine.client)
            engine.reset()
            c = engine.client
            params = p.getPhysicsEngineParameters(physicsClientId=c)
            assert params["fixedTimeStep"] == profile["timestep_s"]
            assert params["numSubSteps"] == profile["substeps"]
            assert params["numSolverIterations"] == profile["solver_iterations"]
            assert params["gravityAccelerationZ"] == profile["gravity"][2]
            floor = engine.load_floor()
            robot = engine.load_robot(data_path("r2d2.urdf"), position=(0, 0, 1))
            info = p.getDynamicsInfo(floor, -1, physicsClientId=c)
            assert info[1] == pytest.approx(profile["floor_friction"]["lateral"])
            for link in (-1, robot.joint_indices[0]):
                info = p.getDynamicsInfo(robot.body, link, physicsClientId=c)
                assert info[1] == pytest.approx(profile["robot_friction"]["lateral"])
                assert info[5] == pytest.approx(profile["restitution"])
                assert info[6] == pytest.approx(profile["robot_friction"]["rolling"])
                assert info[7] == pytest.approx(profile["robot_friction"]["spinning"])


def test_mass_scale_is_applied_once() -> None:
    from simengine.state import data_path

    base = profiles.get_profile("default")
    heavy = profiles.get_profile("heavy_payload")
    masses = []
    for profile in (base, heavy):
        with Engine(profile=profile) as engine:
            robot = engine.load_robot(data_path("r2d2.urdf"))
            masses.append(p.getDynamicsInfo(robot.body, -1, physicsClientId=engine.client)[0])
    assert masses[1] == pytest.approx(masses[0] * heavy["mass_scale"])
