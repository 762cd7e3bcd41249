"""USD stages (written as .usda text) converted to URDF + OBJ, and the stages refused."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pybullet as p
import pytest
from pxr import Sdf, Usd, UsdPhysics

from simengine.assetbase import AssetLimits, AssetRejected, PackageTooLarge
from simengine.imports.limits import ImportLimits
from simengine.imports.usd import Converted, convert_usd
from simengine.urdfcheck import parse_robot, parse_urdf

BODY = '(prepend apiSchemas = ["PhysicsRigidBodyAPI"{more}])'
MASS = BODY.format(more=', "PhysicsMassAPI"')
NO_MASS = BODY.format(more="")

# A box's 8 corners (index = x + 2y + 4z) and its 6 quads, each wound outward.
_QUADS = [0, 2, 3, 1, 4, 5, 7, 6, 0, 1, 5, 4, 2, 6, 7, 3, 0, 4, 6, 2, 1, 3, 7, 5]


def box_mesh(name: str, half: tuple[float, float, float], *, points: str | None = None) -> str:
    corners = [tuple(h if (i >> axis) & 1 else -h for axis, h in enumerate(half)) for i in range(8)]
    listing = points or ", ".join(f"({x:g}, {y:g}, {z:g})" for x, y, z in corners)
    return f"""
        def Mesh "{name}"
        {{
            int[] faceVertexCounts = [4, 4, 4, 4, 4, 4]
            int[] faceVertexIndices = {_QUADS}
            point3f[] points = [{listing}]
        }}"""


def usda(body: str, *, header: str = 'metersPerUnit = 1\n    upAxis = "Z"') -> str:
    return f"#usda 1.0\n(\n    {header}\n)\n{body}\n"


def two_body_robot(joint: str) -> str:
    """A base box (a scaled Cube) and an arm (a Mesh), joined by `joint` (a joint prim)."""
    return usda(
        f"""def Xform "World"
{{
    def Xform "robot"
    {{
        def Cube "base" {MASS}
        {{
            double size = 0.2
            float physics:mass = 5
            float3 physics:diagonalInertia = (0.43, 0.43, 0.83)
            double3 xformOp:translate = (0, 0, 0.1)
            float3 xformOp:scale = (5, 5, 1)
            uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:scale"]
        }}
        def Xform "arm" {MASS}
        {{
            float physics:mass = 1
            float3 physics:diagonalInertia = (0.0842, 0.0842, 0.00167)
            double3 xformOp:translate = (0, 0, 0.7)
            uniform token[] xformOpOrder = ["xformOp:translate"]
            {box_mesh("shape", (0.05, 0.05, 0.5))}
        }}
        {joint}
    }}
}}"""
    )


HINGE = """def PhysicsRevoluteJoint "hinge"
        {
            rel physics:body0 = </World/robot/base>
            rel physics:body1 = </World/robot/arm>
            point3f physics:localPos0 = (0, 0, 0.1)
            point3f physics:localPos1 = (0, 0, -0.5)
            uniform token physics:axis = "Y"
            float physics:lowerLimit = -45
            float physics:upperLimit = 90
        }"""

# The same robot in centimetres with Y up: base 100 x 20 (up) x 100 cm, arm 100 cm tall.
Y_UP_CM = usda(
    f"""def Xform "World"
{{
    def Cube "base" {MASS}
    {{
        double size = 20
        float physics:mass = 5
        float3 physics:diagonalInertia = (4300, 8300, 4300)
        double3 xformOp:translate = (0, 10, 0)
        float3 xformOp:scale = (5, 1, 5)
        uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:scale"]
    }}
    def Xform "arm" {MASS}
    {{
        float physics:mass = 1
        float3 physics:diagonalInertia = (842, 16.7, 842)
        double3 xformOp:translate = (0, 70, 0)
        uniform token[] xformOpOrder = ["xformOp:translate"]
        {box_mesh("shape", (5, 50, 5))}
    }}
    def PhysicsRevoluteJoint "hinge"
    {{
        rel physics:body0 = </World/base>
        rel physics:body1 = </World/arm>
        point3f physics:localPos0 = (0, 10, 0)
        point3f physics:localPos1 = (0, -50, 0)
        uniform token physics:axis = "X"
        float physics:lowerLimit = -30
        float physics:upperLimit = 30
    }}
}}""",
    header='metersPerUnit = 0.01\n    upAxis = "Y"',
)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    folder = tmp_path / "pkg"
    folder.mkdir()
    return folder


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def convert(
    package: Path, out_dir: Path, text: str, limits: ImportLimits | None = None
) -> Converted:
    stage = package / "robot.usda"
    stage.write_text(text, encoding="utf-8")
    return convert_usd(stage, package, out_dir, robot_name="bot", limits=limits or ImportLimits())


def robot_of(converted: Converted) -> ET.Element:
    return parse_robot(converted.urdf_file.read_bytes())


def numbers(element: ET.Element | None, attribute: str) -> list[float]:
    assert element is not None
    return [float(value) for value in element.get(attribute, "").split()]


def obj_vertices(path: Path) -> np.ndarray:
    lines = path.read_text(encoding="ascii").splitlines()
    return np.array([[float(v) for v in line.split()[1:]] for line in lines if line[:2] == "v "])


def simulate(urdf: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load in pybullet (base fixed), step 100 times; each link's world AABB."""
    client = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(str(urdf), useFixedBase=True, physicsClientId=client)
        for _ in range(100):
            p.stepSimulation(physicsClientId=client)
        base, orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
        states = [p.getJointState(body, 0, physicsClientId=client)[:2]]
        assert np.all(np.isfinite([*base, *orientation, *np.ravel(states)]))
        names = {-1: p.getBodyInfo(body, physicsClientId=client)[0].decode()}
        for joint in range(p.getNumJoints(body, physicsClientId=client)):
            names[joint] = p.getJointInfo(body, joint, physicsClientId=client)[12].decode()
        boxes = {}
        for link, name in names.items():
            low, high = p.getAABB(body, linkIndex=link, physicsClientId=client)
            boxes[name] = (np.array(low), np.array(high))
        return boxes
    finally:
        p.disconnect(client)


def test_two_bodies_and_a_revolute_joint_become_two_links_and_one_joint(
    package: Path, out_dir: Path
) -> None:
    converted = convert(package, out_dir, two_body_robot(HINGE))
    assert converted.urdf_file == out_dir / "bot.urdf"
    assert converted.warnings == []
    robot = robot_of(converted)
    assert [link.get("name") for link in robot.findall("link")] == ["base", "arm"]
    (joint,) = robot.findall("joint")
    assert (joint.get("name"), joint.get("type")) == ("hinge", "revolute")
    assert numbers(joint.find("limit"), "lower") == pytest.approx([-math.pi / 4])
    assert numbers(joint.find("limit"), "upper") == pytest.approx([math.pi / 2])
    assert numbers(joint.find("origin"), "xyz") == pytest.approx([0, 0, 0.1])
    assert joint.find("axis").get("xyz") == "0 1 0"  # type: ignore[union-attr]
    base, arm = robot.findall("link")
    assert numbers(base.find("inertial/mass"), "value") == [5.0]
    assert numbers(arm.find("inertial/mass"), "value") == [1.0]
    assert numbers(base.find("inertial/inertia"), "izz") == pytest.approx([0.83])
    assert numbers(base.find("collision/geometry/box"), "size") == pytest.approx([1, 1, 0.2])
    mesh = arm.find("visual/geometry/mesh")
    assert mesh is not None
    assert mesh.get("filename") == "meshes/arm.obj"
    vertices = obj_vertices(out_dir / "meshes" / "arm.obj")
    # The child link's frame is the joint frame, 0.5 m below the arm's centre.
    assert vertices.min(axis=0) == pytest.approx([-0.05, -0.05, 0.0])
    assert vertices.max(axis=0) == pytest.approx([0.05, 0.05, 1.0])
    assert numbers(arm.find("inertial/origin"), "xyz") == pytest.approx([0, 0, 0.5])
    tree = parse_urdf(converted.urdf_file.read_bytes(), limits=AssetLimits(), physics=True)
    assert tree.root_link == "base"
    assert tree.movable_joints == ("hinge",)


def test_the_converted_urdf_simulates_in_pybullet(package: Path, out_dir: Path) -> None:
    converted = convert(package, out_dir, two_body_robot(HINGE))
    boxes = simulate(converted.urdf_file)
    low, high = boxes["base"]
    assert high - low == pytest.approx([1.0, 1.0, 0.2], abs=0.05)


def test_centimetres_and_y_up_become_metres_and_z_up(package: Path, out_dir: Path) -> None:
    converted = convert(package, out_dir, Y_UP_CM)
    assert converted.warnings == []
    robot = robot_of(converted)
    joint = robot.find("joint")
    assert numbers(joint.find("origin"), "xyz") == pytest.approx([0, 0, 0.1])  # type: ignore[union-attr]
    assert numbers(joint.find("limit"), "upper") == pytest.approx([math.pi / 6])  # type: ignore[union-attr]
    base = robot.find("link")
    inertia = base.find("inertial/inertia")  # type: ignore[union-attr]
    moments = [numbers(inertia, key)[0] for key in ("ixx", "iyy", "izz")]
    assert moments == pytest.approx([0.43, 0.43, 0.83])  # kg cm^2 -> kg m^2, Y -> Z
    boxes = simulate(converted.urdf_file)
    assert boxes["base"][1] - boxes["base"][0] == pytest.approx([1.0, 1.0, 0.2], abs=0.05)
    arm_low, arm_high = boxes["arm"]
    assert (arm_low[2], arm_high[2]) == pytest.approx((0.1, 1.1), abs=0.05)
    assert arm_high[0] - arm_low[0] == pytest.approx(0.1, abs=0.05)


@pytest.mark.parametrize(
    ("extra", "kilograms"),
    [("", 8.0), ("float physics:density = 500", 4.0)],
    ids=["default-density", "authored-density"],
)
def test_the_mass_is_computed_from_the_mesh_without_mass_api(
    package: Path, out_dir: Path, extra: str, kilograms: float
) -> None:
    schemas = MASS if extra else NO_MASS
    text = usda(f'def Xform "block" {schemas}\n{{\n    {extra}\n{box_mesh("m", (0.1,) * 3)}\n}}')
    converted = convert(package, out_dir, text)
    link = robot_of(converted).find("link")
    assert link is not None
    assert numbers(link.find("inertial/mass"), "value") == pytest.approx([kilograms])
    # A solid cube of side a: I = m a^2 / 6 about each axis through its centre.
    assert numbers(link.find("inertial/inertia"), "ixx") == pytest.approx([kilograms * 0.04 / 6])
    assert numbers(link.find("inertial/origin"), "xyz") == pytest.approx([0, 0, 0])
    assert len(converted.warnings) == 1
    assert "computed from its geometry" in converted.warnings[0]


PRIMITIVES = usda(
    f"""def Xform "parts" {NO_MASS}
{{
    def Sphere "ball"
    {{
        double radius = 0.1
    }}
    def Cylinder "rod"
    {{
        double radius = 0.05
        double height = 0.4
        uniform token axis = "X"
        double3 xformOp:translate = (0, 0.3, 0)
        uniform token[] xformOpOrder = ["xformOp:translate"]
    }}
    def Capsule "pill"
    {{
        double radius = 0.05
        double height = 0.2
        uniform token axis = "Y"
        double3 xformOp:translate = (0, -0.3, 0)
        uniform token[] xformOpOrder = ["xformOp:translate"]
    }}
    def Cone "cone"
    {{
        double radius = 0.1
        double height = 0.2
        double3 xformOp:translate = (0.5, 0, 0)
        uniform token[] xformOpOrder = ["xformOp:translate"]
    }}
    def Sphere "egg"
    {{
        double radius = 0.1
        double3 xformOp:translate = (-0.5, 0, 0)
        float3 xformOp:scale = (1, 1, 2)
        uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:scale"]
    }}
    def Cube "helper"
    {{
        uniform token purpose = "guide"
    }}
}}"""
)


def test_primitives_become_urdf_shapes_or_meshes(package: Path, out_dir: Path) -> None:
    converted = convert(package, out_dir, PRIMITIVES)
    link = robot_of(converted).find("link")
    assert link is not None
    shapes = {
        node[0].tag: node for node in link.findall("collision/geometry") if node[0].tag != "mesh"
    }
    assert numbers(shapes["sphere"][0], "radius") == [0.1]
    cylinders = [
        node[0] for node in link.findall("collision/geometry") if node[0].tag == "cylinder"
    ]
    assert [numbers(c, "length")[0] for c in cylinders] == pytest.approx([0.4, 0.3])
    rod_origin = link.findall("collision")[2].find("origin")
    assert numbers(rod_origin, "rpy") == pytest.approx([0, math.pi / 2, 0])  # Z turned to X
    assert link.find("collision/geometry/box") is None  # the guide is left out
    # The cone and the stretched sphere are triangulated into the link's OBJ.
    assert link.find("collision/geometry/mesh").get("filename") == "meshes/parts.obj"  # type: ignore[union-attr]
    volume = (
        4 / 3 * 0.001 + 0.001 + 0.0005 + 4 / 3 * 0.000125 + 0.002 / 3 + 4 / 3 * 0.002
    ) * math.pi
    assert numbers(link.find("inertial/mass"), "value") == pytest.approx([1000 * volume], rel=0.02)
    assert "capsule '/parts/pill' is approximated by a cylinder" in converted.warnings
    assert not any("watertight" in warning for warning in converted.warnings)


def test_a_joint_to_the_world_makes_its_body_the_root(package: Path, out_dir: Path) -> None:
    pin = """def PhysicsFixedJoint "pin"
        {
            rel physics:body1 = </World/robot/base>
        }"""
    converted = convert(package, out_dir, two_body_robot(HINGE + "\n        " + pin))
    assert any("attaches '/World/robot/base' to the world" in w for w in converted.warnings)
    assert [j.get("name") for j in robot_of(converted).findall("joint")] == ["hinge"]


# --- refused: composition arcs and asset paths that leave the package ----------------------

OUTSIDE_LAYER = usda('def Xform "Evil" (prepend apiSchemas = ["PhysicsRigidBodyAPI"])\n{\n}')


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "evil.usda"
    path.write_text(OUTSIDE_LAYER, encoding="utf-8")
    return path


def _prim_with(metadata: str = "", body: str = "") -> str:
    return usda(f'def Xform "W" (\n    {metadata}\n)\n{{\n    {body}\n}}')


@pytest.mark.parametrize(
    ("text", "element", "reason"),
    [
        (
            usda("", header="subLayers = [@/etc/passwd@]"),
            "robot.usda subLayers '.../passwd'",
            "an absolute path",
        ),
        (
            usda("", header="subLayers = [@{outside}@]"),
            "robot.usda subLayers '.../evil.usda'",
            "an absolute path",
        ),
        (
            _prim_with("prepend references = @../outside/evil.usda@</Evil>"),
            "robot.usda </W> references '../outside/evil.usda'",
            "leaves the package",
        ),
        (
            _prim_with("append payload = @./../outside/evil.usda@"),
            "robot.usda </W> payload './../outside/evil.usda'",
            "leaves the package",
        ),
        (
            _prim_with(
                'variantSets = "v"\n    variants = { string v = "a" }',
                'variantSet "v" = {\n "a" (references = @../outside/evil.usda@) {\n }\n }',
            ),
            "robot.usda </W{v=a}> references",
            "leaves the package",
        ),
        (
            _prim_with(body="asset inputs:file = @http://example.com/t.png@"),
            "robot.usda </W.inputs:file> default 'http://example.com/t.png'",
            "URL or resolver scheme",
        ),
        (
            _prim_with("references = @omniverse://server/robot.usd@"),
            "robot.usda </W> references",
            "URL or resolver scheme",
        ),
        (
            _prim_with("assetInfo = { asset identifier = @{outside}@ }"),
            "robot.usda </W> assetInfo '.../evil.usda'",
            "an absolute path",
        ),
        (
            _prim_with("clips = { dictionary default = { asset[] assetPaths = [@./c.usda@] } }"),
            "robot.usda </W> clips",
            "value clips are not supported",
        ),
        (
            _prim_with("references = @./missing.usda@"),
            "robot.usda </W> references './missing.usda'",
            "no such file in the package",
        ),
    ],
    ids=[
        "absolute-sublayer",
        "absolute-sublayer-outside",
        "parent-reference",
        "parent-payload",
        "reference-in-variant",
        "http-asset",
        "omniverse-reference",
        "asset-in-metadata",
        "value-clips",
        "missing-layer",
    ],
)
def test_arcs_and_asset_paths_outside_the_package_are_refused(
    package: Path, out_dir: Path, outside: Path, text: str, element: str, reason: str
) -> None:
    with pytest.raises(AssetRejected) as caught:
        convert(package, out_dir, text.replace("{outside}", str(outside)))
    assert caught.value.element.startswith(element)
    assert reason in caught.value.detail
    assert_outside_untouched(caught.value, outside)


def test_without_the_checks_usd_composes_a_file_outside(package: Path, outside: Path) -> None:
    """The control: what the checks prevent (the stage is opened directly here)."""
    stage_file = package / "robot.usda"
    stage_file.write_text(_prim_with("references = @../outside/evil.usda@</Evil>"))
    stage = Usd.Stage.Open(str(stage_file))
    assert stage.GetPrimAtPath("/W").HasAPI(UsdPhysics.RigidBodyAPI)
    assert Sdf.Layer.Find(str(outside)) is not None


def test_a_layer_in_the_package_is_checked_like_the_root_layer(
    package: Path, out_dir: Path, outside: Path
) -> None:
    (package / "parts").mkdir()
    inner = _prim_with("references = @../../outside/evil.usda@")
    (package / "parts" / "inner.usda").write_text(inner, encoding="utf-8")
    with pytest.raises(AssetRejected, match="leaves the package") as caught:
        convert(package, out_dir, usda("", header="subLayers = [@./parts/inner.usda@]"))
    assert caught.value.element.startswith("parts/inner.usda </W> references")
    assert_outside_untouched(caught.value, outside)


def test_a_symlink_out_of_the_package_is_refused(
    package: Path, out_dir: Path, outside: Path
) -> None:
    (package / "link.usda").symlink_to(outside)
    with pytest.raises(AssetRejected, match="symbolic link") as caught:
        convert(package, out_dir, usda("", header="subLayers = [@link.usda@]"))
    assert_outside_untouched(caught.value, outside)


def test_a_nested_usdz_is_refused(package: Path, out_dir: Path) -> None:
    (package / "more.usdz").write_bytes(b"PK\x03\x04")
    with pytest.raises(AssetRejected, match="unpack it"):
        convert(package, out_dir, _prim_with("references = @./more.usdz@"))


def assert_outside_untouched(error: AssetRejected, outside: Path) -> None:
    """Nothing outside was opened, and no server path is in the message."""
    assert Sdf.Layer.Find(str(outside)) is None
    assert str(outside.parent.parent) not in str(error)
    assert "/etc" not in str(error)


# --- refused: physics the URDF cannot express, and invalid geometry ------------------------

BALL = """def PhysicsSphericalJoint "ball_joint"
        {
            rel physics:body0 = </World/robot/base>
            rel physics:body1 = </World/robot/arm>
        }"""
D6 = """def PhysicsJoint "d6"
        {
            rel physics:body0 = </World/robot/base>
            rel physics:body1 = </World/robot/arm>
            float limit:rotX:physics:low = -10
            float limit:rotX:physics:high = 10
        }"""
BACKWARDS = """def PhysicsRevoluteJoint "back"
        {
            rel physics:body0 = </World/robot/arm>
            rel physics:body1 = </World/robot/base>
        }"""


@pytest.mark.parametrize(
    ("joint", "element", "reason"),
    [
        (BALL, "/World/robot/ball_joint", "spherical joints are not supported"),
        (D6, "/World/robot/d6", "D6 joints (a generic PhysicsJoint) are not supported"),
        ("", "/World/robot/arm", "not connected by joints to the root body '/World/robot/base'"),
        (HINGE + "\n" + BACKWARDS, "/World/robot/", "kinematic loop"),
    ],
    ids=["spherical", "d6", "unconnected", "loop"],
)
def test_joints_a_urdf_cannot_express_are_refused(
    package: Path, out_dir: Path, joint: str, element: str, reason: str
) -> None:
    with pytest.raises(AssetRejected) as caught:
        convert(package, out_dir, two_body_robot(joint))
    assert caught.value.element.startswith(element)
    assert reason in caught.value.detail


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ("(nan, 0, 0)" + ", (0, 0, 0)" * 7, "not all finite"),
        ("(0, 0, 0)" * 1 + ", (0, 0, 0)" * 6, "index is out of range"),
    ],
    ids=["nan", "index-out-of-range"],
)
def test_invalid_mesh_values_are_refused(
    package: Path, out_dir: Path, points: str, reason: str
) -> None:
    text = usda(f'def Xform "block" {NO_MASS}\n{{\n{box_mesh("m", (1, 1, 1), points=points)}\n}}')
    with pytest.raises(AssetRejected, match=reason) as caught:
        convert(package, out_dir, text)
    assert caught.value.element == "/block/m"


def test_more_triangles_or_links_than_the_limits_are_refused(package: Path, out_dir: Path) -> None:
    with pytest.raises(PackageTooLarge, match="limit 11") as too_many:
        convert(package, out_dir, two_body_robot(HINGE), ImportLimits(max_triangles=11))
    assert too_many.value.element == "/World/robot/arm/shape"
    with pytest.raises(AssetRejected, match="more rigid bodies than 1 links") as caught:
        convert(package, out_dir, two_body_robot(HINGE), ImportLimits(max_links=1))
    assert caught.value.element == "/World/robot/arm"
