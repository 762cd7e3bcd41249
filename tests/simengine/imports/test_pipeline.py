"""Whole imports of real robot packages: canonical files, stats, the pybullet trial."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pybullet_data
import pytest

from simengine import api
from simengine.assetbase import AssetRejected
from simengine.errors import InvalidConfig, SimError
from simengine.imports.errors import ImportStopped
from simengine.imports.limits import ImportLimits
from tests.simengine.imports.builders import RawEntry, link, urdf, write_raw_zip, write_zip
from tests.simengine.imports.conftest import Importer, assert_clean_rejection, files_under

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
A1 = Path(pybullet_data.getDataPath()) / "a1"


def folder_zip(path: Path, folder: Path, files: list[str], prefix: str) -> Path:
    return write_zip(path, [(f"{prefix}{name}", (folder / name).read_bytes()) for name in files])


def test_a_single_urdf_file(tmp_path: Path, run_import: Importer, work_dir: Path) -> None:
    result = run_import(EXAMPLES / "simple_robot.urdf", filename="simple_robot.urdf")
    assert result == {
        "source_format": "urdf",
        "container": "file",
        "source_kind": "urdf",
        "main_file": "simple_robot.urdf",
        "robot_name": "simple_robot",
        "stats": {
            "links": 4,
            "joints": 3,
            "dof": 3,
            "total_mass_kg": pytest.approx(3.2),
            "bounding_box_m": {
                "min": pytest.approx([-0.15, -0.15, -0.05]),
                "max": pytest.approx([0.15, 0.15, 0.7]),
            },
            "size_m": pytest.approx([0.3, 0.3, 0.75]),
            "triangles": 0,
            "meshes": 0,
            "watertight_meshes": 0,
            "units_suspect": False,
        },
        "warnings": [],
        "check": {
            "loaded": True,
            "steps": 24,
            "finite": True,
            "base_drift_m": result["check"]["base_drift_m"],
        },
    }
    assert 0 <= result["check"]["base_drift_m"] < 0.01
    assert files_under(work_dir) == {"simple_robot.urdf"}


def test_the_mesh_example_as_a_zip(tmp_path: Path, run_import: Importer, work_dir: Path) -> None:
    archive = folder_zip(
        tmp_path / "upload.zip",
        EXAMPLES,
        ["simple_arm_mesh.urdf", "meshes/gripper.obj", "meshes/gripper.mtl"],
        prefix="arm/",
    )
    result = run_import(archive)
    assert (result["container"], result["main_file"]) == ("zip", "simple_arm_mesh.urdf")
    stats = result["stats"]
    assert (stats["links"], stats["dof"], stats["meshes"], stats["triangles"]) == (5, 3, 1, 12)
    assert stats["watertight_meshes"] == 1
    assert files_under(work_dir) == {
        "simple_arm_mesh.urdf",
        "meshes/gripper.obj",
        "meshes/gripper.mtl",
    }
    assert 'filename="meshes/gripper.obj"' in (work_dir / "simple_arm_mesh.urdf").read_text()


def test_pybullets_a1_with_its_meshes_and_texture(
    tmp_path: Path, run_import: Importer, work_dir: Path
) -> None:
    meshes = sorted(f"meshes/{p.name}" for p in (A1 / "meshes").iterdir())
    archive = folder_zip(tmp_path / "upload.zip", A1, ["a1.urdf", *meshes], prefix="a1/")
    result = run_import(archive)
    stats = result["stats"]
    assert (stats["links"], stats["joints"], stats["dof"]) == (22, 21, 12)
    assert stats["total_mass_kg"] == pytest.approx(12.458)
    assert (stats["meshes"], stats["triangles"]) == (5, 44403)
    assert files_under(work_dir) == {"a1_description.urdf", *meshes}
    assert result["check"]["finite"]
    assert result["warnings"] == []


def test_several_urdfs_need_main_file(tmp_path: Path, run_import: Importer) -> None:
    body = urdf(link("base"))
    archive = write_zip(tmp_path / "upload.zip", [("a.urdf", body), ("b/c.urdf", body)])
    with pytest.raises(AssetRejected, match=r"2 urdf files \('a\.urdf', 'b/c\.urdf'\)") as caught:
        run_import(archive)
    assert caught.value.element == "main_file"
    assert run_import(archive, main_file="b/c.urdf")["main_file"] == "r.urdf"


def test_main_file_must_be_in_the_package(tmp_path: Path, run_import: Importer) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("a.urdf", urdf(link("base")))])
    with pytest.raises(AssetRejected, match=r"'x\.urdf' is not in the package"):
        run_import(archive, main_file="x.urdf")


@pytest.mark.parametrize("fmt", ["mesh", "usd"])
def test_a_format_the_content_contradicts(tmp_path: Path, run_import: Importer, fmt: str) -> None:
    with pytest.raises(AssetRejected, match=f"the content is urdf .urdf., not {fmt}") as caught:
        run_import(EXAMPLES / "simple_robot.urdf", format=fmt)
    assert caught.value.element == "format"


def test_a_main_file_named_unlike_its_content(tmp_path: Path, run_import: Importer) -> None:
    archive = write_zip(tmp_path / "upload.zip", [("robot.urdf", b"v 0 0 0\nf 1 1 1\n")])
    with pytest.raises(AssetRejected, match="named like a urdf file but holds obj") as caught:
        run_import(archive)
    assert caught.value.element == "entry 'robot.urdf'"


def test_progress_after_every_stage(work_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    job = {"source": str(EXAMPLES / "simple_robot.urdf"), "work_dir": str(work_dir)}
    api.import_asset(job, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_should_stop_between_stages(tmp_path: Path, work_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    job = {"source": str(EXAMPLES / "simple_robot.urdf"), "work_dir": str(work_dir)}
    with pytest.raises(ImportStopped, match="before converting"):
        api.import_asset(
            job,
            progress=lambda done, total: calls.append((done, total)),
            should_stop=lambda: bool(calls),
        )
    assert calls == [(1, 5)]
    assert files_under(work_dir) == set()  # the staging folder is gone


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"source": "relative.urdf"}, "source"),
        ({"work_dir": "/nonexistent-qers"}, "work_dir"),
        ({"format": "step"}, "format"),
        ({"density_kg_m3": 0}, "density_kg_m3"),
        ({"check_steps": -1}, "check_steps"),
    ],
)
def test_a_malformed_job(work_dir: Path, job: dict[str, Any], field: str) -> None:
    base = {"source": str(EXAMPLES / "simple_robot.urdf"), "work_dir": str(work_dir)}
    with pytest.raises(InvalidConfig) as caught:
        api.import_asset(base | job)
    assert caught.value.field == field


def test_the_link_limit(tmp_path: Path, run_import: Importer) -> None:
    with pytest.raises(AssetRejected, match="4 links; limit 2"):
        run_import(EXAMPLES / "simple_robot.urdf", limits={"max_links": 2})


def _fake_usd(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    """Stand in for simengine/imports/usd.py: write a one-box URDF with a mesh."""

    class Converted:
        def __init__(self, urdf_file: Path) -> None:
            self.urdf_file, self.warnings = urdf_file, ["prim '/robot/wheel' has no mass"]

    def convert_usd(
        stage_path: Path,
        package_root: Path,
        out_dir: Path,
        *,
        robot_name: str,
        limits: ImportLimits,
    ) -> Converted:
        calls.append(
            {"stage": stage_path.read_bytes()[:5], "root": package_root, "name": robot_name}
        )
        (out_dir / "meshes").mkdir()
        (out_dir / "meshes" / "m.obj").write_text(
            "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
        )
        mesh = '<geometry><mesh filename="meshes/m.obj"/></geometry>'
        (out_dir / f"{robot_name}.urdf").write_bytes(urdf(link("body", mesh), name=robot_name))
        return Converted(out_dir / f"{robot_name}.urdf")

    module = types.ModuleType("simengine.imports.usd")
    module.convert_usd = convert_usd  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "simengine.imports.usd", module)


def test_a_usda_goes_through_the_converter_and_the_urdf_checks(
    tmp_path: Path, run_import: Importer, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    _fake_usd(monkeypatch, calls)
    stage = tmp_path / "upload"
    stage.write_bytes(b"#usda 1.0\n")
    result = run_import(stage, filename="My Robot.usda")
    assert (result["source_format"], result["source_kind"]) == ("usd", "usda")
    assert result["robot_name"] == "My_Robot"
    assert calls[0]["stage"] == b"#usda"
    assert result["warnings"] == ["prim '/robot/wheel' has no mass"]
    assert files_under(work_dir) == {"My_Robot.urdf", "meshes/m.obj"}


def test_a_usdz_is_unpacked_and_its_first_layer_converted(
    tmp_path: Path, run_import: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    _fake_usd(monkeypatch, calls)
    archive = write_raw_zip(
        tmp_path / "upload.zip",
        [RawEntry(b"robot.usdc", b"PXR-USDC" + bytes(8)), RawEntry(b"tex/a.png", b"png")],
    )
    result = run_import(archive, name="rover")
    assert (result["container"], result["source_kind"], result["robot_name"]) == (
        "file",
        "usdz",
        "rover",
    )
    assert calls[0]["stage"] == b"PXR-U"


def test_without_a_converter_usd_is_unavailable(
    tmp_path: Path, run_import: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "simengine.imports.usd", None)  # import raises
    stage = tmp_path / "upload"
    stage.write_bytes(b"#usda 1.0\n")
    with pytest.raises(SimError, match="USD import is not available"):
        run_import(stage)


def test_errors_never_show_server_paths(tmp_path: Path, run_import: Importer) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b"\x00\x01garbage")
    with pytest.raises(AssetRejected) as caught:
        run_import(source, filename="robot.stl")
    assert caught.value.element == "file"
    assert_clean_rejection(caught.value, tmp_path)
