"""Building a validated linkage: response shapes, frames and a deterministic URDF."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET
import numpy as np
import pytest

from simengine.assetbase import AssetLimits
from simengine.design.linkage import Linkage, build, validate
from simengine.imports.frames import link_frames, origin
from simengine.urdfcheck import parse_urdf
from tests.simengine.linkage.builders import arm_parts, arm_request


def built(request: dict[str, Any], parts: dict[str, Any] | None = None) -> Linkage:
    parts = arm_parts() if parts is None else parts
    assert validate(request, parts) == []
    return build(request, parts)


def test_a_two_joint_arm_builds_a_checked_urdf() -> None:
    linkage = built(arm_request())
    assert linkage.urdf.startswith(b'<?xml version="1.0"?>\n<robot name="arm">\n  <link')
    tree = parse_urdf(linkage.urdf, limits=AssetLimits(), physics=True)
    assert tree.links == ("base", "upper_arm", "forearm")
    assert tree.joints == ("shoulder", "elbow")
    assert tree.root_link == "base"
    assert linkage.dof == 2
    assert linkage.total_mass_kg == pytest.approx(4.0 + 0.75 + 0.625)
    assert linkage.warnings == []
    assert linkage.mesh_files == [
        "parts/000_base.obj",
        "parts/001_upper_arm.obj",
        "parts/002_forearm.obj",
    ]


def test_the_same_request_gives_the_same_bytes() -> None:
    assert built(arm_request()).urdf == built(arm_request()).urdf


def test_links_and_joints_have_the_response_shapes() -> None:
    linkage = built(arm_request())
    parts = arm_parts()
    assert [link["parent_joint"] for link in linkage.links] == [None, "shoulder", "elbow"]
    forearm = linkage.links[2]
    assert forearm == {
        "name": "forearm",
        "part": "forearm",
        "mass_kg": parts["forearm"]["mass_kg"],
        "centroid_m": parts["forearm"]["centroid_m"],
        "inertia_kg_m2": parts["forearm"]["inertia_kg_m2"],
        "inertia_source": "mesh",
        "parent_joint": "elbow",
    }
    assert linkage.joints[1] == {
        "name": "elbow",
        "type": "revolute",
        "parent": "upper_arm",
        "child": "forearm",
        "origin": {"xyz": [0.0, 0.0, 0.3], "rpy": [0.3, 0.0, 0.0]},
        "axis": [0.0, 1.0, 0.0],
        "limit": {"lower": -0.8, "upper": 0.8, "effort": 20.0, "velocity": 2.0},
        "dynamics": {"damping": 0.1, "friction": 0.0},
    }


def test_inertial_and_visual_origins_put_the_parts_back_in_the_asset_frame() -> None:
    linkage = built(arm_request())
    robot = SafeET.fromstring(linkage.urdf)
    frames = link_frames(robot)
    parts = arm_parts()
    for link in robot.findall("link"):
        name = link.get("name", "")
        inertial, visual = link.find("inertial"), link.find("visual")
        assert inertial is not None
        assert visual is not None
        com = frames[name] @ origin(inertial)
        assert com[:3, 3] == pytest.approx(parts[name]["centroid_m"], abs=1e-12)
        # the inertial axes are the asset's, so the part's tensor is valid as written
        assert com[:3, :3] == pytest.approx(np.eye(3), abs=1e-12)
        assert frames[name] @ origin(visual) == pytest.approx(np.eye(4), abs=1e-12)


def test_urdf_elements_follow_the_joint_types() -> None:
    request = arm_request()
    request["joints"][0].update(type="continuous", axis=[0.0, 0.0, 1.0])
    del request["joints"][0]["limit"]
    request["joints"][1].update(type="fixed")
    del request["joints"][1]["axis"], request["joints"][1]["limit"]
    linkage = built(request)
    robot = SafeET.fromstring(linkage.urdf)
    shoulder, elbow = robot.findall("joint")
    assert [child.tag for child in shoulder] == ["parent", "child", "origin", "axis"]
    assert [child.tag for child in elbow] == ["parent", "child", "origin", "dynamics"]
    assert linkage.dof == 1
    assert (linkage.joints[0]["limit"], linkage.joints[1]["axis"]) == (None, None)


def test_defaults_are_urdf_s() -> None:
    request = arm_request()
    del request["joints"][0]["origin"], request["joints"][0]["axis"]
    joint = built(request).joints[0]
    assert joint["origin"] == {"xyz": [0.0, 0.0, 0.0], "rpy": [0.0, 0.0, 0.0]}
    assert joint["axis"] == [1.0, 0.0, 0.0]
    assert joint["dynamics"] is None


def test_warnings_for_an_ignored_axis_a_normalised_axis_and_hull_inertia() -> None:
    request = arm_request()
    request["joints"][0].update(axis=[0.0, 2.0, 0.0])
    request["joints"][1].update(type="fixed")
    del request["joints"][1]["limit"]
    parts = arm_parts()
    parts["forearm"]["inertia_source"] = "hull"
    linkage = built(request, parts)
    assert linkage.joints[0]["axis"] == [0.0, 1.0, 0.0]
    assert linkage.warnings == [
        "joint 'shoulder': axis [0.0, 2.0, 0.0] was normalised to [0.0, 1.0, 0.0]",
        "joint 'elbow' is fixed: its axis [0.0, 1.0, 0.0] is ignored",
        "part 'forearm': its inertia is its convex hull's, not its mesh's",
    ]


def test_a_mass_override_scales_the_inertia() -> None:
    request = arm_request()
    request["links"] = [{"part": "forearm", "mass_kg": 1.25}]
    parts = arm_parts()
    forearm = built(request, parts).links[2]
    assert forearm["mass_kg"] == 1.25
    assert forearm["inertia_source"] == "request"
    assert np.array(forearm["inertia_kg_m2"]) == pytest.approx(
        np.array(parts["forearm"]["inertia_kg_m2"]) * 2
    )


def test_an_inertia_override_is_written_as_given() -> None:
    request = arm_request()
    tensor = [[0.02, 0.001, 0.0], [0.001, 0.03, 0.0], [0.0, 0.0, 0.04]]
    request["links"] = [{"part": "base", "inertia_kg_m2": tensor}]
    linkage = built(request)
    inertia = SafeET.fromstring(linkage.urdf).find("link/inertial/inertia")
    assert inertia is not None
    assert dict(inertia.attrib) == {
        "ixx": "0.02",
        "ixy": "0.001",
        "ixz": "0.0",
        "iyy": "0.03",
        "iyz": "0.0",
        "izz": "0.04",
    }
    assert linkage.links[0]["mass_kg"] == arm_parts()["base"]["mass_kg"]


def test_hulls_collide_and_a_part_without_mesh_is_not_drawn() -> None:
    parts = arm_parts()
    parts["upper_arm"]["hulls"] = [
        {"mesh_file": "hulls/001_upper_arm_0.obj"},
        {"mesh_file": "hulls/001_upper_arm_1.obj"},
    ]
    parts["forearm"]["mesh_file"] = None
    linkage = built(arm_request(), parts)
    links = {link.get("name"): link for link in SafeET.fromstring(linkage.urdf).findall("link")}
    meshes = [m.get("filename") for m in links["upper_arm"].iter("mesh")]
    assert meshes == [
        "meshes/001_upper_arm.obj",
        "meshes/001_upper_arm_0.obj",
        "meshes/001_upper_arm_1.obj",
    ]
    assert [child.tag for child in links["upper_arm"]] == [
        "inertial",
        "visual",
        "collision",
        "collision",
    ]
    assert [child.tag for child in links["forearm"]] == ["inertial"]
    assert linkage.mesh_files == [
        "parts/000_base.obj",
        "parts/001_upper_arm.obj",
        "hulls/001_upper_arm_0.obj",
        "hulls/001_upper_arm_1.obj",
    ]


def test_two_mesh_files_with_one_file_name_are_refused() -> None:
    parts = arm_parts()
    parts["forearm"]["mesh_file"] = "other/000_base.obj"
    with pytest.raises(ValueError, match="share a file name"):
        build(arm_request(), parts)


def test_numbers_are_written_exactly_and_without_negative_zero() -> None:
    request = arm_request()
    request["joints"][0]["origin"] = {"xyz": [-0.0, 0.1, 1 / 3], "rpy": [0.0, -0.0, math.pi]}
    robot = SafeET.fromstring(built(request).urdf)
    joint_origin = robot.find("joint/origin")
    assert joint_origin is not None
    assert joint_origin.get("xyz") == f"0.0 0.1 {1 / 3!r}"
    assert joint_origin.get("rpy") == f"0.0 0.0 {math.pi!r}"
    assert "-0.0 " not in ET.tostring(robot, encoding="unicode")
