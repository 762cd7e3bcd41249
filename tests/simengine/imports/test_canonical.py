"""URDF packages: what is refused (naming the element), and how files are made canonical."""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh

from simengine.assetbase import AssetRejected, PackageTooLarge
from simengine.meshcheck import binary_stl_count
from tests.simengine.imports.builders import (
    box,
    joint,
    link,
    mesh,
    obj_text,
    stl_binary,
    urdf,
    write_zip,
)
from tests.simengine.imports.conftest import Importer, assert_clean_rejection, files_under
from tests.simengine.imports.test_sniff import LAUGHS

CUBE = obj_text(box((0.1, 0.1, 0.1)))
VISUAL = "link[1] 'base'/visual[1]/geometry/mesh@filename"


def package(tmp_path: Path, robot: bytes, **files: bytes) -> Path:
    entries = [("robot/r.urdf", robot)] + [
        (f"robot/{name.replace('__', '/')}", data) for name, data in files.items()
    ]
    return write_zip(tmp_path / "upload.zip", entries)


def inertia(**values: str) -> str:
    get = {"ixx": "0.01", "ixy": "0", "ixz": "0", "iyy": "0.01", "iyz": "0", "izz": "0.01"}
    get |= values
    attributes = " ".join(f'{key}="{value}"' for key, value in get.items())
    mass = values.get("mass", "1")
    return f'<inertial><mass value="{mass}"/><inertia {attributes}/></inertial>'


@pytest.mark.parametrize(
    ("robot", "element", "rule"),
    [
        (urdf(link("a") + link("b")), "robot", "exactly one root link"),
        (urdf(link("base", mesh("/etc/passwd"))), VISUAL, "absolute"),
        (urdf(link("base", mesh("../../../etc/passwd"))), VISUAL, "leaves the package"),
        (urdf(link("base", mesh("file:///etc/passwd"))), VISUAL, "URL scheme"),
        (urdf(link("base", mesh("meshes/none.obj"))), VISUAL, "is not in the package"),
        (
            urdf(
                link("base") + link("arm") + joint("j", "base", "arm").replace("0 0 0.2", "0 nan 0")
            ),
            "joint[1] 'j'/origin@xyz",
            "finite",
        ),
        (
            urdf(
                link(
                    "base", '<origin xyz="inf 0 0"/>' + '<geometry><sphere radius="1"/></geometry>'
                )
            ),
            "link[1] 'base'/visual[1]/origin@xyz",
            "finite",
        ),
        (
            urdf(link("base", inertial=inertia(ixx="-0.01"))),
            "link[1] 'base'/inertial/inertia",
            "must all be > 0",
        ),
        (
            urdf(link("base", inertial=inertia(izz="0.05"))),
            "link[1] 'base'/inertial/inertia",
            "triangle inequality",
        ),
        (
            urdf(link("base", inertial=inertia(ixy="0.02"))),
            "link[1] 'base'/inertial/inertia",
            "not positive definite",
        ),
        (
            urdf(link("base", inertial=inertia(mass="0"))),
            "link[1] 'base'/inertial/mass@value",
            "mass must be > 0",
        ),
        (
            urdf(
                link("base") + link("arm") + joint("j", "base", "arm", limit='lower="1" upper="-1"')
            ),
            "joint[1] 'j'/limit",
            "lower limit (1) is above the upper one (-1)",
        ),
    ],
)
def test_hostile_urdfs_are_refused(
    tmp_path: Path, run_import: Importer, robot: bytes, element: str, rule: str
) -> None:
    with pytest.raises(AssetRejected, match=rule.replace("(", r"\(").replace(")", r"\)")) as caught:
        run_import(package(tmp_path, robot))
    assert caught.value.element == element
    assert_clean_rejection(caught.value, tmp_path)


def test_billion_laughs(tmp_path: Path, run_import: Importer) -> None:
    with pytest.raises(AssetRejected, match="DTDs are not accepted") as caught:
        run_import(package(tmp_path, LAUGHS))
    assert caught.value.element == "entry 'robot/r.urdf'"
    assert_clean_rejection(caught.value, tmp_path)


def test_an_obj_index_out_of_range(tmp_path: Path, run_import: Importer) -> None:
    bad = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"
    with pytest.raises(AssetRejected, match="index 9 is out of range") as caught:
        run_import(package(tmp_path, urdf(link("base", mesh("m.obj"))), **{"m.obj": bad}))
    assert caught.value.element == f"{VISUAL} (line 4)"
    assert_clean_rejection(caught.value, tmp_path)


def test_garbage_named_stl_in_a_urdf(tmp_path: Path, run_import: Importer) -> None:
    robot = urdf(link("base", mesh("part.stl")))
    with pytest.raises(AssetRejected, match="format not recognised") as caught:
        run_import(package(tmp_path, robot, **{"part.stl": bytes(range(256)) * 3}))
    assert caught.value.element == VISUAL


def test_the_total_triangle_limit(tmp_path: Path, run_import: Importer) -> None:
    robot = urdf(
        link("base", mesh("a.obj")) + link("arm", mesh("b.obj")) + joint("j", "base", "arm")
    )
    with pytest.raises(PackageTooLarge, match="triangles"):
        run_import(
            package(tmp_path, robot, **{"a.obj": CUBE, "b.obj": CUBE}), limits={"max_triangles": 20}
        )


@pytest.mark.parametrize(
    ("filename", "extra"),
    [
        ("package://robot/meshes/cube.obj", {}),
        (
            "package://my_robot/meshes/cube.obj",
            {"package.xml": b"<package><name>my_robot</name></package>"},
        ),
        ("package://meshes/cube.obj", {}),  # a folder of that name, found in the package
        ("../robot/meshes/cube.obj", {}),  # '..' that stays inside
    ],
)
def test_package_and_relative_paths_inside_the_package(
    tmp_path: Path, run_import: Importer, work_dir: Path, filename: str, extra: dict[str, bytes]
) -> None:
    robot = urdf(link("base", mesh(filename)))
    result = run_import(package(tmp_path, robot, **{"meshes__cube.obj": CUBE}, **extra))
    assert files_under(work_dir) == {"r.urdf", "meshes/cube.obj"}
    assert result["stats"]["meshes"] == 1
    assert 'filename="meshes/cube.obj"' in (work_dir / "r.urdf").read_text()


def test_an_unknown_package_is_refused(tmp_path: Path, run_import: Importer) -> None:
    robot = urdf(link("base", mesh("package://elsewhere/cube.obj")))
    with pytest.raises(AssetRejected, match="package 'elsewhere' is not in the upload") as caught:
        run_import(package(tmp_path, robot, **{"cube.obj": CUBE}))
    assert caught.value.element == VISUAL


def test_names_are_made_safe_and_distinct(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    robot = urdf(
        link("base", mesh("a/part (1).obj"))
        + link("arm", mesh("b/part (1).obj"))
        + link("hand", mesh("c/Part_1.STL"))
        + joint("j", "base", "arm")
        + joint("k", "arm", "hand")
    )
    stl = stl_binary(*box((0.1, 0.1, 0.1)))
    files = {"a__part (1).obj": CUBE, "b__part (1).obj": CUBE, "c__Part_1.STL": stl}
    run_import(package(tmp_path, robot, **files))
    assert files_under(work_dir) == {
        "r.urdf",
        "meshes/part_1.obj",
        "meshes/part_1_2.obj",
        "meshes/Part_1.stl",
    }


def test_ascii_stl_becomes_binary(tmp_path: Path, run_import: Importer, work_dir: Path) -> None:
    vertices, faces = box((0.1, 0.1, 0.1))
    lines = ["solid cube"]
    for face in faces:
        lines += [" facet normal 0 0 0", "  outer loop"]
        lines += [f"   vertex {x} {y} {z}" for x, y, z in vertices[face]]
        lines += ["  endloop", " endfacet"]
    text = ("\n".join([*lines, "endsolid cube"]) + "\n").encode()
    run_import(package(tmp_path, urdf(link("base", mesh("cube.stl"))), **{"cube.stl": text}))
    data = (work_dir / "meshes/cube.stl").read_bytes()
    assert binary_stl_count(data[:84], len(data)) == 12


def test_materials_and_textures_follow_their_obj(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    obj = b"mtllib mat/look.mtl\nmtllib gone.mtl\n" + CUBE
    mtl = b"newmtl look\nKd 1 0 0\nmap_Kd skin.png\nmap_Ks missing.png\n"
    robot = urdf(link("base", mesh("m.obj")))
    result = run_import(
        package(tmp_path, robot, **{"m.obj": obj, "mat__look.mtl": mtl, "skin.png": b"png"})
    )
    assert files_under(work_dir) == {"r.urdf", "meshes/m.obj", "meshes/look.mtl", "meshes/skin.png"}
    assert (work_dir / "meshes/m.obj").read_bytes().startswith(b"mtllib look.mtl\no body1\n")
    assert (
        work_dir / "meshes/look.mtl"
    ).read_bytes() == b"newmtl look\nKd 1 0 0\nmap_Kd skin.png\n"
    assert result["warnings"] == [
        "texture 'robot/missing.png' is missing; the mesh is drawn without it",
        "material library 'robot/gone.mtl' is missing; the mesh is drawn without it",
    ]


def test_links_without_inertial_are_noted(tmp_path: Path, run_import: Importer) -> None:
    robot = urdf(link("base") + link("arm", inertial="") + joint("j", "base", "arm"))
    result = run_import(package(tmp_path, robot))
    assert result["stats"]["total_mass_kg"] == pytest.approx(2.0)  # pybullet's 1 kg default
    assert result["warnings"] == [
        "1 link(s) have no <inertial> ('arm'); pybullet gives each 1 kg and a unit inertia"
    ]


def test_units_in_millimetres_are_suspected(tmp_path: Path, run_import: Importer) -> None:
    big = obj_text(box((300.0, 100.0, 50.0)))
    result = run_import(package(tmp_path, urdf(link("base", mesh("big.obj"))), **{"big.obj": big}))
    assert result["stats"]["units_suspect"] is True
    assert result["stats"]["size_m"] == pytest.approx([300, 100, 50])
    assert "scale them by 0.001" in result["warnings"][0]


def test_a_urdf_texture_is_copied(tmp_path: Path, run_import: Importer, work_dir: Path) -> None:
    material = '<material name="skin"><texture filename="textures/skin.png"/></material>'
    robot = urdf(material + link("base"))
    run_import(package(tmp_path, robot, **{"textures__skin.png": b"png"}))
    assert files_under(work_dir) == {"r.urdf", "meshes/skin.png"}
    assert 'filename="meshes/skin.png"' in (work_dir / "r.urdf").read_text()


def test_a_glb_mesh_in_a_urdf_becomes_obj(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    glb = trimesh.Trimesh(*box((0.1, 0.1, 0.1)), process=False).export(file_type="glb")
    assert isinstance(glb, bytes)
    result = run_import(
        package(tmp_path, urdf(link("base", mesh("part.glb"))), **{"part.glb": glb})
    )
    assert files_under(work_dir) == {"r.urdf", "meshes/part.obj"}
    assert result["warnings"] == [
        "mesh 'robot/part.glb' was converted to OBJ; its materials were dropped"
    ]
