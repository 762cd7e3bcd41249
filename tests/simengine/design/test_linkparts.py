"""Method `links`: a part per URDF link, in the asset frame with every joint at zero."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trimesh

from tests.simengine.design.builders import import_mesh, segment, write_urdf_asset
from tests.simengine.imports.builders import box, obj_text

QUARTER = math.pi / 2
URDF = f"""<?xml version="1.0"?>
<robot name="arm">
  <link name="base">
    <inertial>
      <origin xyz="0.01 0.02 0.03" rpy="0 0 0.5"/>
      <mass value="2"/>
      <inertia ixx="0.1" ixy="0.01" ixz="0" iyy="0.2" iyz="0" izz="0.3"/>
    </inertial>
    <collision>
      <origin xyz="0 0 0.05"/>
      <geometry><box size="0.2 0.3 0.1"/></geometry>
    </collision>
  </link>
  <link name="arm">
    <inertial>
      <origin xyz="0 0 0.2"/>
      <mass value="0.5"/>
      <inertia ixx="0.01" ixy="0" ixz="0" iyy="0.02" iyz="0" izz="0.03"/>
    </inertial>
    <visual><geometry><mesh filename="meshes/arm.obj" scale="1 1 2"/></geometry></visual>
  </link>
  <link name="tip">
    <collision><geometry><sphere radius="0.05"/></geometry></collision>
  </link>
  <link name="marker"/>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="arm"/>
    <origin xyz="0.1 0 0.1" rpy="0 0 {QUARTER!r}"/>
    <axis xyz="0 1 0"/>
    <limit lower="-1" upper="1" effort="1" velocity="1"/>
  </joint>
  <joint name="wrist" type="fixed">
    <parent link="arm"/><child link="tip"/><origin xyz="0 0 0.4"/>
  </joint>
  <joint name="mark" type="fixed">
    <parent link="base"/><child link="marker"/><origin xyz="0.3 0 0"/>
  </joint>
</robot>
"""


def rz(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.fixture
def result(tmp_path: Path) -> tuple[dict, Path]:
    arm = obj_text(box((0.04, 0.06, 0.2), low=(-0.02, -0.03, 0)))
    asset = write_urdf_asset(tmp_path / "asset", URDF, {"arm.obj": arm})
    return segment(tmp_path, asset, "links")


def test_links_come_root_first_then_breadth_first(result: tuple[dict, Path]) -> None:
    answer, out = result
    assert answer["found"] == 4
    assert [p["name"] for p in answer["parts"]] == ["base", "arm", "marker", "tip"]
    assert [p["mesh_file"] for p in answer["parts"]] == [
        "parts/000_base.obj",
        "parts/001_arm.obj",
        None,
        "parts/003_tip.obj",
    ]
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        "000_base.obj",
        "001_arm.obj",
        "003_tip.obj",
    ]


def test_a_link_keeps_its_own_inertial_turned_into_the_asset_frame(
    result: tuple[dict, Path],
) -> None:
    base, arm = result[0]["parts"][:2]
    assert (base["mass_kg"], base["inertia_source"]) == (2.0, "link")
    assert base["centroid_m"] == pytest.approx([0.01, 0.02, 0.03])
    local = np.array([[0.1, 0.01, 0], [0.01, 0.2, 0], [0, 0, 0.3]])
    turned = rz(0.5) @ local @ rz(0.5).T
    np.testing.assert_allclose(base["inertia_kg_m2"], turned, atol=1e-15)
    assert base["volume_m3"] == pytest.approx(0.006, rel=1e-9)
    assert base["bounding_box"]["min"] == pytest.approx([-0.1, -0.15, 0.0])
    assert base["bounding_box"]["max"] == pytest.approx([0.1, 0.15, 0.1])
    assert (arm["mass_kg"], arm["inertia_source"], arm["watertight"]) == (0.5, "link", True)
    # The shoulder turns the arm a quarter about z and lifts it to (0.1, 0, 0.1).
    assert arm["centroid_m"] == pytest.approx([0.1, 0.0, 0.3])
    np.testing.assert_allclose(arm["inertia_kg_m2"], np.diag([0.02, 0.01, 0.03]), atol=1e-15)


def test_part_meshes_are_written_in_the_asset_frame(result: tuple[dict, Path]) -> None:
    answer, out = result
    arm = answer["parts"][1]
    # 0.04 x 0.06 x 0.2 box, scaled 2 along z, turned a quarter, moved to (0.1, 0, 0.1).
    assert arm["bounding_box"]["min"] == pytest.approx([0.07, -0.02, 0.1])
    assert arm["bounding_box"]["max"] == pytest.approx([0.13, 0.02, 0.5])
    assert arm["volume_m3"] == pytest.approx(0.04 * 0.06 * 0.4, rel=1e-9)
    written = trimesh.load(out / arm["mesh_file"], process=False, maintain_order=True)
    np.testing.assert_allclose(written.bounds, [[0.07, -0.02, 0.1], [0.13, 0.02, 0.5]], atol=1e-12)
    assert written.volume == pytest.approx(arm["volume_m3"], rel=1e-9)  # still wound outwards


def test_links_without_inertial_are_weighed_or_left_massless(result: tuple[dict, Path]) -> None:
    answer, _ = result
    marker, tip = answer["parts"][2:]
    assert tip["inertia_source"] == "mesh"
    assert tip["mass_kg"] == pytest.approx(1000 * tip["volume_m3"], rel=1e-12)
    assert tip["volume_m3"] == pytest.approx(4 / 3 * math.pi * 0.05**3, rel=0.05)
    assert tip["centroid_m"] == pytest.approx([0.1, 0.0, 0.5], abs=1e-12)
    assert marker["mass_kg"] == 0.0
    assert marker["inertia_kg_m2"] == [[0.0] * 3] * 3
    assert (marker["faces"], marker["vertices"], marker["watertight"]) == (0, 0, False)
    assert marker["bounding_box"] == {"min": [0.3, 0.0, 0.0], "max": [0.3, 0.0, 0.0]}
    assert answer["warnings"] == [
        "link 'marker' has neither geometry nor <inertial>; it has no mass",
        "link 'tip' has no <inertial>; its mass comes from its geometry at 1000 kg/m^3",
    ]


def test_a_bare_mesh_is_one_link(tmp_path: Path) -> None:
    asset = import_mesh(tmp_path, obj_text(box((0.1, 0.2, 0.3))), "brick.obj")
    answer, _ = segment(tmp_path, asset, "links")
    (part,) = answer["parts"]
    assert (part["name"], part["inertia_source"], part["watertight"]) == ("brick", "link", True)
    assert part["mass_kg"] == pytest.approx(6.0, rel=1e-9)
    assert part["centroid_m"] == pytest.approx([0.05, 0.1, 0.15])
