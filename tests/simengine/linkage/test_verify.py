"""A built linkage in real pybullet: it loads, its frames are right and its joints move."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybullet as p
import pytest

from simengine.design.linkage import Linkage, build
from simengine.design.verify import verify
from tests.simengine.linkage.builders import BOXES, arm_parts, arm_request, write_box_obj

# The identity quaternion (x, y, z, w): an inertial frame whose axes are the asset's.
ASSET_AXES = (0.0, 0.0, 0.0, 1.0)


def export(linkage: Linkage, folder: Path) -> Path:
    """The URDF and its box meshes in `folder`, as the service lays them out."""
    for mesh_file in linkage.mesh_files:
        name = posixpath.basename(mesh_file)
        write_box_obj(folder / "meshes" / name, *BOXES[name.removesuffix(".obj")[4:]])
    urdf = folder / "arm.urdf"
    urdf.write_bytes(linkage.urdf)
    return urdf


def job(urdf: Path, linkage: Linkage, steps: int = 240) -> dict[str, Any]:
    joints = [
        {
            "name": joint["name"],
            "type": joint["type"],
            "lower": joint["limit"] and joint["limit"]["lower"],
            "upper": joint["limit"] and joint["limit"]["upper"],
        }
        for joint in linkage.joints
    ]
    return {"urdf": str(urdf), "steps": steps, "joints": joints}


@pytest.fixture
def client() -> Iterator[int]:
    number = p.connect(p.DIRECT)
    yield number
    p.disconnect(physicsClientId=number)


def test_the_arm_moves_to_its_limits_and_stays_finite(tmp_path: Path) -> None:
    linkage = build(arm_request(), arm_parts())
    urdf = export(linkage, tmp_path)
    calls: list[tuple[int, int]] = []
    result = verify(job(urdf, linkage), progress=lambda done, total: calls.append((done, total)))
    assert (result["loaded"], result["steps"], result["finite"]) == (True, 240, True)
    assert [joint["name"] for joint in result["joints"]] == ["shoulder", "elbow"]
    for joint in result["joints"]:
        assert joint["moved"], joint
        assert joint["within_limits"], joint
        assert joint["min_position"] < 0 < joint["max_position"]
    assert calls[-1] == (240, 240)
    assert len(calls) in range(90, 121)


def test_pybullet_finds_each_centroid_and_tensor_where_the_parts_have_them(
    tmp_path: Path, client: int
) -> None:
    parts = arm_parts()
    linkage = build(arm_request(), parts)
    body = p.loadURDF(
        str(export(linkage, tmp_path)),
        useFixedBase=True,
        flags=p.URDF_USE_INERTIA_FROM_FILE,
        physicsClientId=client,
    )
    base_com, base_axes = p.getBasePositionAndOrientation(body, physicsClientId=client)
    assert base_com == pytest.approx(parts["base"]["centroid_m"], abs=1e-6)
    assert base_axes == pytest.approx(ASSET_AXES, abs=1e-9)
    for number in range(p.getNumJoints(body, physicsClientId=client)):
        name = p.getJointInfo(body, number, physicsClientId=client)[12].decode()
        com, axes, *_ = p.getLinkState(body, number, physicsClientId=client)
        assert com == pytest.approx(parts[name]["centroid_m"], abs=1e-6), name
        assert axes == pytest.approx(ASSET_AXES, abs=1e-9), name
        # the tensors are diagonal in the asset axes, which the inertial frames keep
        mass, _, diagonal, *_ = p.getDynamicsInfo(body, number, physicsClientId=client)
        tensor = parts[name]["inertia_kg_m2"]
        assert mass == pytest.approx(parts[name]["mass_kg"], rel=1e-12)
        assert diagonal == pytest.approx([tensor[i][i] for i in range(3)], rel=1e-9), name


def test_a_continuous_joint_is_driven_both_ways(tmp_path: Path) -> None:
    request = arm_request()
    request["joints"][1]["type"] = "continuous"
    del request["joints"][1]["limit"]
    linkage = build(request, arm_parts())
    result = verify(job(export(linkage, tmp_path), linkage, steps=120))
    elbow = result["joints"][1]
    assert elbow["moved"]
    assert elbow["within_limits"]
    assert elbow["min_position"] < -0.1
    assert elbow["max_position"] > 0.1


def test_should_stop_ends_the_run_early(tmp_path: Path) -> None:
    linkage = build(arm_request(), arm_parts())
    calls = iter(range(1000))
    result = verify(job(export(linkage, tmp_path), linkage), should_stop=lambda: next(calls) >= 10)
    assert (result["loaded"], result["steps"], result["finite"]) == (True, 10, True)


def test_a_urdf_pybullet_refuses_is_not_loaded(tmp_path: Path) -> None:
    urdf = tmp_path / "broken.urdf"
    urdf.write_text("<robot name='x'><link name='a'>", encoding="utf-8")
    result = verify({"urdf": str(urdf), "steps": 10, "joints": []})
    assert result == {"loaded": False, "steps": 0, "finite": False, "joints": []}


def test_a_state_that_becomes_nan_stops_the_run(tmp_path: Path) -> None:
    inertia = 'ixx="{}" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"'
    urdf = tmp_path / "nan.urdf"
    urdf.write_text(
        f"""<?xml version="1.0"?>
<robot name="r">
  <link name="a"><inertial><mass value="1"/><inertia {inertia.format(0.01)}/></inertial></link>
  <link name="b"><inertial><mass value="1"/><inertia {inertia.format("nan")}/></inertial></link>
  <joint name="j" type="revolute">
    <parent link="a"/><child link="b"/><origin xyz="0 0 0.1"/><axis xyz="1 0 0"/>
    <limit lower="-1" upper="1" effort="10" velocity="1"/>
  </joint>
</robot>
""",
        encoding="utf-8",
    )
    joints = [{"name": "j", "type": "revolute", "lower": -1.0, "upper": 1.0}]
    result = verify({"urdf": str(urdf), "steps": 50, "joints": joints})
    assert (result["loaded"], result["steps"], result["finite"]) == (True, 1, False)
    assert result["joints"][0]["min_position"] == 0.0
