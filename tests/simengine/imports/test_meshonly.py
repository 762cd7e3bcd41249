"""A bare mesh becomes a one-link robot with the mesh's own mass and inertia."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from simengine.assetbase import AssetRejected, PackageTooLarge
from simengine.urdfcheck import parse_robot
from tests.simengine.imports.builders import box, obj_text, stl_binary
from tests.simengine.imports.conftest import Importer, files_under


def inertial(urdf: Path) -> tuple[float, list[float], np.ndarray]:
    node = parse_robot(urdf.read_bytes()).find("link/inertial")
    assert node is not None

    def attribute(path: str, key: str) -> str:
        found = node.find(path)
        assert found is not None
        return found.get(key, "")

    get = {
        key: float(attribute("inertia", key)) for key in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")
    }
    tensor = np.array(
        [
            [get["ixx"], get["ixy"], get["ixz"]],
            [get["ixy"], get["iyy"], get["iyz"]],
            [get["ixz"], get["iyz"], get["izz"]],
        ]
    )
    center = [float(v) for v in attribute("origin", "xyz").split()]
    return float(attribute("mass", "value")), center, tensor


def box_tensor(mass: float, x: float, y: float, z: float) -> np.ndarray:
    return np.diag([y * y + z * z, x * x + z * z, x * x + y * y]) * mass / 12


def test_two_touching_boxes_stay_two_bodies(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    # Two 0.1 x 0.2 x 0.3 boxes sharing the face x = 0.1: together a 0.2 x 0.2 x 0.3 box.
    source = tmp_path / "upload"
    source.write_bytes(obj_text(box((0.1, 0.2, 0.3)), box((0.1, 0.2, 0.3), low=(0.1, 0, 0))))
    result = run_import(source, filename="blocks.obj", name="two blocks", density_kg_m3=800)
    assert (result["source_kind"], result["robot_name"]) == ("obj", "two_blocks")
    assert files_under(work_dir) == {"two_blocks.urdf", "meshes/two_blocks.obj"}
    stats = result["stats"]
    assert (stats["triangles"], stats["meshes"], stats["watertight_meshes"]) == (24, 1, 1)
    assert stats["bounding_box_m"] == {
        "min": pytest.approx([0, 0, 0]),
        "max": pytest.approx([0.2, 0.2, 0.3]),
    }
    written = trimesh.load(work_dir / "meshes/two_blocks.obj", process=False, maintain_order=True)
    assert isinstance(written, trimesh.Trimesh)
    assert (len(written.vertices), len(written.faces)) == (16, 24)  # no vertex merged
    mass, center, tensor = inertial(work_dir / "two_blocks.urdf")
    assert mass == pytest.approx(800 * 0.012, rel=1e-6)
    assert stats["total_mass_kg"] == pytest.approx(mass)
    assert center == pytest.approx([0.1, 0.1, 0.15])
    assert tensor == pytest.approx(box_tensor(mass, 0.2, 0.2, 0.3), rel=1e-6, abs=1e-12)
    assert result["warnings"] == []
    assert result["check"]["finite"]


def test_a_binary_stl_cube_is_kept_and_its_inertia_is_analytic(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    data = stl_binary(*box((0.1, 0.1, 0.1), low=(0.45, -0.05, 0)))
    source = tmp_path / "upload"
    source.write_bytes(data)
    result = run_import(source, filename="cube.stl")
    assert (result["source_kind"], result["robot_name"]) == ("stl", "cube")
    assert (work_dir / "meshes/cube.stl").read_bytes() == data
    mass, center, tensor = inertial(work_dir / "cube.urdf")
    assert mass == pytest.approx(1.0, rel=1e-6)  # 1000 kg/m^3 x 0.001 m^3
    assert center == pytest.approx([0.5, 0, 0.05])
    assert tensor == pytest.approx(np.eye(3) * 1.0 * 0.01 / 6, rel=1e-5, abs=1e-12)


def test_an_open_mesh_gets_its_hulls_inertia_and_a_warning(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    vertices, faces = box((1.0, 1.0, 1.0))
    source = tmp_path / "upload"
    source.write_bytes(obj_text((vertices, faces[:-2])))  # the lid is missing
    result = run_import(source, filename="bin.obj", density_kg_m3=2)
    assert result["stats"]["watertight_meshes"] == 0
    assert result["warnings"] == [
        "mesh 'bin.obj' is not watertight; its mass and inertia come from its convex hull (1 m^3)"
    ]
    mass, _, tensor = inertial(work_dir / "bin.urdf")
    assert mass == pytest.approx(2.0)
    assert tensor == pytest.approx(box_tensor(2.0, 1, 1, 1), rel=1e-6, abs=1e-12)


def test_inward_facing_triangles_are_turned_around(tmp_path: Path, run_import: Importer) -> None:
    vertices, faces = box((1.0, 1.0, 1.0))
    source = tmp_path / "upload"
    source.write_bytes(obj_text((vertices, faces[:, ::-1])))
    result = run_import(source, filename="inside_out.obj")
    assert result["stats"]["total_mass_kg"] == pytest.approx(1000)
    assert "inward-facing" in result["warnings"][0]


def test_a_flat_mesh_has_no_volume(tmp_path: Path, run_import: Importer) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n")
    with pytest.raises(AssetRejected, match="encloses no volume") as caught:
        run_import(source)
    assert caught.value.element == "file"


@pytest.mark.parametrize("kind", ["ply", "glb"])
def test_other_formats_become_obj(
    tmp_path: Path, run_import: Importer, work_dir: Path, kind: str
) -> None:
    mesh = trimesh.Trimesh(*box((0.5, 0.5, 0.5)), process=False)
    source = tmp_path / "upload"
    data = mesh.export(file_type=kind)
    assert isinstance(data, bytes)
    source.write_bytes(data)
    result = run_import(source, name="part")
    assert result["source_kind"] == kind
    assert files_under(work_dir) == {"part.urdf", "meshes/part.obj"}
    assert result["stats"]["total_mass_kg"] == pytest.approx(125)
    assert "converted to OBJ" in result["warnings"][-1]


def test_a_collada_document_without_geometry_is_refused(
    tmp_path: Path, run_import: Importer
) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b'<?xml version="1.0"?><COLLADA version="1.4.1"></COLLADA>')
    with pytest.raises(AssetRejected):
        run_import(source, filename="part.dae")


def test_a_collada_document_with_a_dtd_is_refused(tmp_path: Path, run_import: Importer) -> None:
    source = tmp_path / "upload"
    source.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<COLLADA version="1.4.1">&e;</COLLADA>'
    )
    with pytest.raises(AssetRejected, match="DTD"):
        run_import(source, filename="part.dae")


def test_the_triangle_limit_is_413(tmp_path: Path, run_import: Importer) -> None:
    source = tmp_path / "upload"
    source.write_bytes(stl_binary(*box((1, 1, 1))))
    with pytest.raises(PackageTooLarge, match="12 triangles; limit 10"):
        run_import(source, limits={"max_triangles": 10})


def test_garbage_named_stl(tmp_path: Path, run_import: Importer) -> None:
    source = tmp_path / "upload"
    source.write_bytes(bytes(range(256)) * 7)
    with pytest.raises(AssetRejected, match="format not recognised") as caught:
        run_import(source, filename="part.stl", format="mesh")
    assert caught.value.element == "file"


def test_a_closed_mesh_of_no_volume(tmp_path: Path, run_import: Importer) -> None:
    # A square and its back: every edge is shared by two faces, yet nothing is enclosed.
    source = tmp_path / "upload"
    source.write_bytes(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\nf 3 2 1\nf 3 4 2\n")
    with pytest.raises(AssetRejected, match="encloses no volume"):
        run_import(source)
