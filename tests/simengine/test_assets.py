"""Asset pre-checks reject what would crash, hang or escape pybullet, and name the element."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pybullet_data
import pytest

from simengine.assets import (
    AssetLimits,
    AssetRejected,
    PackageTooLarge,
    check_urdf,
    resolve_urdf_path,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = Path(pybullet_data.getDataPath())

BOX = '<geometry><box size="0.1 0.1 0.1"/></geometry>'


def link(name: str, geometry: str = BOX) -> str:
    return (
        f'<link name="{name}"><inertial><mass value="1"/>'
        f'<inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial>'
        f"<visual>{geometry}</visual><collision>{geometry}</collision></link>"
    )


def joint(name: str, parent: str, child: str, kind: str = "revolute") -> str:
    return (
        f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
        f'<axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>'
    )


def mesh(filename: str) -> str:
    return f'<geometry><mesh filename="{filename}"/></geometry>'


def write_urdf(folder: Path, body: str, name: str = "robot.urdf") -> Path:
    path = folder / name
    path.write_text(f'<?xml version="1.0"?>\n<robot name="r">{body}</robot>\n', encoding="utf-8")
    return path


def with_mesh(folder: Path, filename: str) -> Path:
    return write_urdf(
        folder, link("base") + link("wheel", mesh(filename)) + joint("j", "base", "wheel")
    )


def rejected(path: Path, root: Path, **kwargs: AssetLimits) -> AssetRejected:
    with pytest.raises(AssetRejected) as caught:
        check_urdf(path, root=root, **kwargs)
    error = caught.value
    # Limits are PackageTooLarge (RESOURCE_LIMIT: the import answers 413); a run's pre-check
    # in the API answers 422 for both, as it catches every AssetRejected.
    limit = isinstance(error, PackageTooLarge)
    assert error.failure_code == ("RESOURCE_LIMIT" if limit else "INVALID_ASSET")
    assert str(root) not in error.reason
    assert str(root.parents[-2]) not in error.reason  # e.g. "/tmp": no server path at all
    return error


CUBE_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n"
MESH_ELEMENT = "link[2] 'wheel'/visual[1]/geometry/mesh@filename"


# --- accepted ---------------------------------------------------------------------------


def test_simple_robot_passes() -> None:
    summary = check_urdf(EXAMPLES / "simple_robot.urdf", root=EXAMPLES)
    assert (summary.name, summary.links, summary.joints) == ("simple_robot", 4, 3)
    assert summary.movable_joints == ("base_yaw", "shoulder_pitch", "elbow_pitch")
    assert summary.root_link == "base_link"
    assert summary.mesh_files == ()
    assert len(summary.sha256) == 64
    assert summary.path == (EXAMPLES / "simple_robot.urdf").resolve()


def test_mesh_example_passes() -> None:
    summary = check_urdf(EXAMPLES / "simple_arm_mesh.urdf", root=EXAMPLES)
    assert summary.mesh_files == ("meshes/gripper.obj",)
    assert summary.triangles == 12


@pytest.mark.parametrize(
    ("urdf", "root", "links"),
    [
        ("r2d2.urdf", ".", 16),
        ("kuka_iiwa/model.urdf", "kuka_iiwa", 8),
        ("a1/a1.urdf", "a1", 22),
        ("laikago/laikago_toes.urdf", "laikago", 17),
    ],
)
def test_pybullet_data_robots_pass(urdf: str, root: str, links: int) -> None:
    summary = check_urdf(DATA / urdf, root=DATA / root)
    assert summary.links == links
    assert summary.mesh_files


def test_binary_stl_passes(tmp_path: Path) -> None:
    triangle = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    (tmp_path / "part.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 2) + triangle * 2)
    assert check_urdf(with_mesh(tmp_path, "part.stl"), root=tmp_path).triangles == 2


def test_simple_robot_loads_and_steps_in_pybullet() -> None:
    # A child process: if pybullet crashes, only the child dies.
    script = textwrap.dedent(
        """
        import math, sys
        import pybullet as p, pybullet_data
        client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath())
        p.setGravity(0, 0, -9.81)
        p.loadURDF("plane.urdf")
        for name in sys.argv[1:]:
            body = p.loadURDF(name, [0, 0, 0.1])
            assert p.getNumJoints(body) >= 3
            for joint in range(3):
                p.setJointMotorControl2(body, joint, p.POSITION_CONTROL, targetPosition=0.5)
        for _ in range(100):
            p.stepSimulation()
        for body in range(1, p.getNumBodies()):
            pos, orn = p.getBasePositionAndOrientation(body)
            states = p.getJointStates(body, range(p.getNumJoints(body)))
            values = [*pos, *orn, *(s[0] for s in states), *(s[1] for s in states)]
            assert all(math.isfinite(v) for v in values), values
            assert abs(pos[2]) < 1, pos
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script]
        + [str(EXAMPLES / name) for name in ("simple_robot.urdf", "simple_arm_mesh.urdf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


# --- structure ----------------------------------------------------------------------------


def test_two_root_links(tmp_path: Path) -> None:
    path = write_urdf(tmp_path, link("a") + link("b"))
    error = rejected(path, tmp_path)
    assert error.element == "robot"
    assert "exactly one root link" in error.reason
    assert "'a', 'b'" in error.reason


def test_zero_root_links_in_a_cycle(tmp_path: Path) -> None:
    path = write_urdf(
        tmp_path, link("a") + link("b") + joint("ab", "a", "b") + joint("ba", "b", "a")
    )
    error = rejected(path, tmp_path)
    assert "found 0" in error.reason


def test_cycle_apart_from_the_root(tmp_path: Path) -> None:
    body = link("a") + link("b") + link("c") + joint("bc", "b", "c") + joint("cb", "c", "b")
    error = rejected(write_urdf(tmp_path, body), tmp_path)
    assert error.element == "robot"
    assert "not connected to root 'a'" in error.reason


def test_link_with_two_parents(tmp_path: Path) -> None:
    body = link("a") + link("b") + link("c") + joint("ac", "a", "c") + joint("bc", "b", "c")
    error = rejected(write_urdf(tmp_path, body), tmp_path)
    assert error.element == "joint[2] 'bc'/child@link"


def test_unknown_parent(tmp_path: Path) -> None:
    path = write_urdf(tmp_path, link("a") + link("b") + joint("j", "nope", "b"))
    error = rejected(path, tmp_path)
    assert error.element == "joint[1] 'j'/parent@link"
    assert "'nope'" in error.reason


@pytest.mark.parametrize(
    ("body", "element"),
    [
        (link("a") + link("a"), "link@name"),
        (
            link("a") + link("b") + link("c") + joint("j", "a", "b") + joint("j", "a", "c"),
            "joint@name",
        ),
    ],
)
def test_duplicate_names(tmp_path: Path, body: str, element: str) -> None:
    error = rejected(write_urdf(tmp_path, body), tmp_path)
    assert error.element == element
    assert "duplicate" in error.reason
    assert "'" in error.reason


def test_unsupported_joint_type(tmp_path: Path) -> None:
    path = write_urdf(tmp_path, link("a") + link("b") + joint("j", "a", "b", kind="floating"))
    assert rejected(path, tmp_path).element == "joint[1] 'j'@type"


@pytest.mark.parametrize("value", ["nan", "inf", "1 2", "abc", "-1"])
def test_bad_numbers(tmp_path: Path, value: str) -> None:
    geometry = f'<geometry><sphere radius="{value}"/></geometry>'
    path = write_urdf(tmp_path, link("a", geometry))
    assert rejected(path, tmp_path).element == "link[1] 'a'/visual[1]/geometry/sphere@radius"


def test_root_element_must_be_robot(tmp_path: Path) -> None:
    (tmp_path / "x.urdf").write_text("<world/>", encoding="utf-8")
    assert rejected(tmp_path / "x.urdf", tmp_path).element == "<world>"


def test_too_many_links(tmp_path: Path) -> None:
    body = link("l0") + "".join(link(f"l{i}") + joint(f"j{i}", "l0", f"l{i}") for i in range(1, 6))
    path = write_urdf(tmp_path, body)
    error = rejected(path, tmp_path, limits=AssetLimits(max_links=5))
    assert error.element == "robot"
    assert "6 links; limit 5" in error.reason
    assert check_urdf(path, root=tmp_path).links == 6


def test_file_too_large(tmp_path: Path) -> None:
    path = write_urdf(tmp_path, link("a") + "<!--" + "x" * 2000 + "-->")
    error = rejected(path, tmp_path, limits=AssetLimits(max_urdf_bytes=1000))
    assert isinstance(error, PackageTooLarge)
    assert error.element == "urdf"
    assert "limit 1000" in error.reason


def test_billion_laughs(tmp_path: Path) -> None:
    entities = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' if i else '<!ENTITY l0 "lol">' for i in range(10)
    )
    path = tmp_path / "bomb.urdf"
    path.write_text(f'<!DOCTYPE robot [{entities}]><robot name="&l9;"/>', encoding="utf-8")
    error = rejected(path, tmp_path)
    assert error.element == "robot"
    assert "unsafe XML" in error.reason


def test_external_entity(tmp_path: Path) -> None:
    path = tmp_path / "xxe.urdf"
    path.write_text(
        '<!DOCTYPE robot [<!ENTITY x SYSTEM "file:///etc/passwd">]><robot name="&x;"/>',
        encoding="utf-8",
    )
    assert "unsafe XML" in rejected(path, tmp_path).reason


def test_malformed_xml(tmp_path: Path) -> None:
    (tmp_path / "x.urdf").write_text("<robot><link></robot>", encoding="utf-8")
    assert "well-formed" in rejected(tmp_path / "x.urdf", tmp_path).reason


# --- mesh paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("/etc/passwd.obj", "absolute"),
        ("../outside.obj", "'..'"),
        ("meshes/../../outside.obj", "'..'"),
        ("package://robot/meshes/a.obj", "scheme"),
        ("file:///etc/a.obj", "scheme"),
        ("meshes\\a.obj", "backslash"),
        ("part.dae", "not accepted"),
        ("part", "not accepted"),
        ("missing.obj", "does not exist"),
    ],
)
def test_bad_mesh_reference(tmp_path: Path, filename: str, reason: str) -> None:
    error = rejected(with_mesh(tmp_path, filename), tmp_path)
    assert error.element == MESH_ELEMENT
    assert reason in error.reason
    assert "/etc" not in error.reason


def test_mesh_symlink_pointing_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "cube.obj").write_text(CUBE_OBJ, encoding="utf-8")
    robot = tmp_path / "robot"
    robot.mkdir()
    (robot / "cube.obj").symlink_to(outside / "cube.obj")
    error = rejected(with_mesh(robot, "cube.obj"), robot)
    assert error.element == MESH_ELEMENT
    assert "symbolic link" in error.reason


def test_mesh_folder_symlink_pointing_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "cube.obj").write_text(CUBE_OBJ, encoding="utf-8")
    robot = tmp_path / "robot"
    robot.mkdir()
    (robot / "meshes").symlink_to(outside)
    error = rejected(with_mesh(robot, "meshes/cube.obj"), robot)
    assert error.element == MESH_ELEMENT
    assert "outside its folder" in error.reason


def test_mesh_fifo_rejected_without_opening(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "wheel.obj")
    # Opening a FIFO with no writer blocks; a timeout in a child proves it is never opened.
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from simengine.assets import AssetRejected, check_urdf
        folder = Path(sys.argv[1])
        try:
            check_urdf(folder / "robot.urdf", root=folder)
        except AssetRejected as error:
            print(error.element, "|", error.reason)
        """
    )
    with_mesh(tmp_path, "wheel.obj")
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == f"{MESH_ELEMENT} | {MESH_ELEMENT}: mesh file is not a regular file (a FIFO)"
    )


def test_mesh_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir.obj").mkdir()
    assert "a folder" in rejected(with_mesh(tmp_path, "dir.obj"), tmp_path).reason


# --- mesh contents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "face v index 4 is out of range"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "face v index 0 is out of range"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n", "face v index -4 is out of range"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/1\n", "face vt index 1 is out of range"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//2 3//1\n", "face vn index 2"),
        ("f 1 2 3\nv 0 0 0\nv 1 0 0\nv 0 1 0\n", "0 defined so far"),
        ("v 0 0 nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "finite numbers"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "at least 3 vertices"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n", "face index 'x'"),
        ("v 0 0 0\nv 1 0 0\n v 0 1 0\nvt 0 0\nf 1/1 2/2 3/1\n", "face vt index 2 is out of range"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/// 2 3\n", "malformed face vertex"),
        ("v 0 0 0\n", "no faces"),
        ("mtllib ../outside.mtl\n" + CUBE_OBJ, "'..'"),
        ("mtllib missing.mtl\n" + CUBE_OBJ, "does not exist"),
    ],
)
def test_bad_obj(tmp_path: Path, obj: str, reason: str) -> None:
    (tmp_path / "wheel.obj").write_text(obj, encoding="utf-8")
    error = rejected(with_mesh(tmp_path, "wheel.obj"), tmp_path)
    assert error.element.startswith(MESH_ELEMENT)
    assert reason in error.reason


@pytest.mark.parametrize(
    "faces", ["f 1/1/1 2/1/1 3/1/1", "f 1//1 2//1 3//1", "f 1/1 -2/-1 3", "f -3/1/-1 -2 -1//1"]
)
def test_obj_faces_in_range_pass(tmp_path: Path, faces: str) -> None:
    obj = f"v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvn 0 0 1\n{faces}\n"
    (tmp_path / "wheel.obj").write_text(obj, encoding="utf-8")
    assert check_urdf(with_mesh(tmp_path, "wheel.obj"), root=tmp_path).triangles == 1


def test_obj_negative_indices_resolve(tmp_path: Path) -> None:
    (tmp_path / "wheel.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n", encoding="utf-8")
    assert check_urdf(with_mesh(tmp_path, "wheel.obj"), root=tmp_path).triangles == 1


def test_obj_texture_must_be_inside_and_exist(tmp_path: Path) -> None:
    (tmp_path / "wheel.obj").write_text("mtllib wheel.mtl\n" + CUBE_OBJ, encoding="utf-8")
    (tmp_path / "wheel.mtl").write_text("newmtl m\nmap_Kd ../secret.png\n", encoding="utf-8")
    error = rejected(with_mesh(tmp_path, "wheel.obj"), tmp_path)
    assert error.element == f"{MESH_ELEMENT} mtllib (line 2)"
    (tmp_path / "wheel.mtl").write_text("newmtl m\nmap_Kd skin.png\n", encoding="utf-8")
    assert "does not exist" in rejected(with_mesh(tmp_path, "wheel.obj"), tmp_path).reason
    (tmp_path / "skin.png").write_bytes(b"\x89PNG")
    assert check_urdf(with_mesh(tmp_path, "wheel.obj"), root=tmp_path).triangles == 4
    (tmp_path / "skin.png").unlink()
    os.mkfifo(tmp_path / "skin.png")
    assert "FIFO" in rejected(with_mesh(tmp_path, "wheel.obj"), tmp_path).reason


def test_urdf_texture_is_checked(tmp_path: Path) -> None:
    shape = f'{BOX}<material name="m"><texture filename="../skin.png"/></material>'
    path = write_urdf(tmp_path, f'<link name="a"><visual>{shape}</visual></link>')
    error = rejected(path, tmp_path)
    assert error.element == "link[1] 'a'/visual[1]/material/texture@filename"


def test_too_many_triangles(tmp_path: Path) -> None:
    (tmp_path / "wheel.obj").write_text(CUBE_OBJ, encoding="utf-8")
    error = rejected(
        with_mesh(tmp_path, "wheel.obj"), tmp_path, limits=AssetLimits(max_mesh_triangles=3)
    )
    assert isinstance(error, PackageTooLarge)
    assert "more than 3 triangles" in error.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"solid x\nfacet normal 0 0 1\nendsolid x\n", "ASCII STL is not supported"),
        (b"\0" * 80 + struct.pack("<I", 5) + b"\0" * 50, "does not match its size"),
        (b"\0" * 40, "shorter than"),
        (b"\0" * 80 + struct.pack("<I", 0), "no triangles"),
        (
            b"\0" * 80
            + struct.pack("<I", 1)
            + struct.pack("<12fH", *[0.0] * 3, float("nan"), *[0.0] * 8, 0),
            "non-finite",
        ),
    ],
)
def test_bad_stl(tmp_path: Path, data: bytes, reason: str) -> None:
    (tmp_path / "part.stl").write_bytes(data)
    error = rejected(with_mesh(tmp_path, "part.stl"), tmp_path)
    assert error.element == MESH_ELEMENT
    assert reason in error.reason


# --- where the URDF itself may come from --------------------------------------------------


def test_urdf_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    path = write_urdf(tmp_path, link("a"))
    assert "not inside" in rejected(path, root).reason


def test_urdf_symlink_is_rejected(tmp_path: Path) -> None:
    real = write_urdf(tmp_path, link("a"), name="real.urdf")
    (tmp_path / "link.urdf").symlink_to(real)
    assert "symbolic link" in rejected(tmp_path / "link.urdf", tmp_path).reason


def test_urdf_fifo_is_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "robot.urdf")
    assert "FIFO" in rejected(tmp_path / "robot.urdf", tmp_path).reason


# --- resolve_urdf_path --------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    examples, assets = tmp_path / "examples", tmp_path / "assets"
    (assets / "ast_1").mkdir(parents=True)
    examples.mkdir()
    write_urdf(examples, link("a"), name="simple_robot.urdf")
    write_urdf(assets / "ast_1", link("a"))
    (tmp_path / "secret.urdf").write_text("<robot/>", encoding="utf-8")
    (examples / "escape.urdf").symlink_to(tmp_path / "secret.urdf")
    (examples / "fifo.urdf").parent.mkdir(exist_ok=True)
    os.mkfifo(examples / "fifo.urdf")
    return [examples, assets]


def test_resolve_accepts_paths_inside_the_roots(roots: list[Path]) -> None:
    found = resolve_urdf_path("examples/simple_robot.urdf", allowed_roots=roots)
    assert found == (roots[0] / "simple_robot.urdf").resolve()
    found = resolve_urdf_path("assets/ast_1/robot.urdf", allowed_roots=roots)
    assert found == (roots[1] / "ast_1" / "robot.urdf").resolve()


def test_resolve_the_repository_example() -> None:
    found = resolve_urdf_path("examples/simple_robot.urdf", allowed_roots=[EXAMPLES])
    assert check_urdf(found, root=EXAMPLES).name == "simple_robot"


@pytest.mark.parametrize(
    ("urdf_path", "reason"),
    [
        ("../x.urdf", "must be a relative path"),
        ("/etc/x.urdf", "must be a relative path"),
        ("examples/../secret.urdf", "must be a relative path"),
        ("examples/./simple_robot.urdf", "must be a relative path"),
        ("examples//simple_robot.urdf", "must be a relative path"),
        ("examples/.hidden.urdf", "must be a relative path"),
        ("examples/simple_robot.xml", "must be a relative path"),
        (
            "other/simple_robot.urdf",
            "must start with one of the allowed folders: assets/, examples/",
        ),
        ("simple_robot.urdf", "must start with one of the allowed folders"),
        ("examples/missing.urdf", "no URDF file at 'examples/missing.urdf'"),
        ("examples/escape.urdf", "symbolic link"),
        ("examples/fifo.urdf", "FIFO"),
    ],
)
def test_resolve_rejects(roots: list[Path], urdf_path: str, reason: str) -> None:
    with pytest.raises(AssetRejected) as caught:
        resolve_urdf_path(urdf_path, allowed_roots=roots)
    assert caught.value.element == "urdf_path"
    assert reason in caught.value.reason
    assert str(roots[0].parent) not in caught.value.reason


def test_resolve_folder_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_urdf(outside, link("a"))
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "sub").symlink_to(outside)
    with pytest.raises(AssetRejected, match="outside its folder"):
        resolve_urdf_path("examples/sub/robot.urdf", allowed_roots=[examples])


def test_checks_run_without_pybullet() -> None:
    # The API process runs these checks and must never load pybullet.
    script = "import sys, simengine.assets; print('pybullet' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
