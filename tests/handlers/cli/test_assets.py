"""`qers assets import` and `qers assets list` with real import children; assets land in
RUNS_DIR, where the API serves them."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.progress import Progress
from typer.testing import CliRunner

from handlers.app import create_app
from handlers.cli.assets import ImportBar
from handlers.cli.main import app
from handlers.kit.contracts import ContractRegistry
from handlers.kit.paths import EXAMPLES_DIR
from handlers.projects.store import Changes, ProjectStore
from handlers.settings import Settings

ROBOT = EXAMPLES_DIR / "simple_robot.urdf"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-assets") / "runs"


@pytest.fixture(scope="module")
def arm_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("packages") / "arm.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(EXAMPLES_DIR / "simple_arm_mesh.urdf", "arm/simple_arm_mesh.urdf")
        for mesh in sorted((EXAMPLES_DIR / "meshes").iterdir()):
            archive.write(mesh, f"arm/meshes/{mesh.name}")
    return path


@pytest.fixture(scope="module")
def contracts() -> ContractRegistry:
    return ContractRegistry()


@pytest.fixture(scope="module")
def imported(runs_dir: Path, arm_zip: Path) -> dict[str, str]:
    """The ids of the two imports every listing test sees: the URDF first, then the zip."""
    robot = last_line(qers_ok(runs_dir, "assets", "import", str(ROBOT), "--tag", "cli-urdf"))
    arm = last_line(qers_ok(runs_dir, "assets", "import", str(arm_zip), "--name", "Arm"))
    return {"robot": robot, "arm": arm}


def qers(runs_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"RUNS_DIR": str(runs_dir)})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def qers_ok(runs_dir: Path, *args: str) -> str:
    code, out, err = qers(runs_dir, *args)
    assert code == 0, out + err
    return out


def last_line(stdout: str) -> str:
    return stdout.rstrip("\n").splitlines()[-1]


def stored(runs_dir: Path) -> set[str]:
    root = runs_dir / "assets"
    return {p.name for p in root.iterdir() if p.name.startswith("ast_")} if root.exists() else set()


def staging_left(runs_dir: Path) -> list[str]:
    staging = runs_dir / "assets" / ".staging"
    return os.listdir(staging) if staging.exists() else []


# --- import -------------------------------------------------------------------------------


def test_a_urdf_imports_with_a_summary_and_its_id_last(
    runs_dir: Path, imported: dict[str, str]
) -> None:
    asset_id = imported["robot"]
    assert asset_id.startswith("ast_")
    assert (runs_dir / "assets" / asset_id / "asset.json").is_file()
    out = qers_ok(runs_dir, "assets", "import", str(ROBOT), "--name", "again")
    for row in ("id", "format", "links", "dof", "mass kg", "triangles", "warnings", "check"):
        assert row in out
    assert "ok (240 steps" in out
    assert last_line(out).startswith("ast_")
    assert last_line(out) in stored(runs_dir)


def test_a_zip_package_imports_as_one_asset(runs_dir: Path, imported: dict[str, str]) -> None:
    document = json.loads((runs_dir / "assets" / imported["arm"] / "asset.json").read_text())
    assert (document["name"], document["format"], document["container"]) == ("Arm", "urdf", "zip")
    assert document["main_file"] == "simple_arm_mesh.urdf"
    assert document["stats"]["meshes"] >= 1
    assert document["check"]["loaded"] is True


def test_json_output_is_an_asset_and_the_server_serves_it(
    runs_dir: Path, contracts: ContractRegistry
) -> None:
    options = ["--json", "--tag", "a", "--tag", "b", "--format", "urdf", "--density", "500"]
    out = qers_ok(runs_dir, "assets", "import", str(ROBOT), *options)
    document = json.loads(out)  # stdout holds the document and nothing else
    assert contracts.errors("Asset", document) == []
    assert document["tags"] == ["a", "b"]
    assert document["name"] == "simple_robot"  # the file's stem
    settings = Settings(runs_dir=runs_dir, warm_spares=0)
    with TestClient(create_app(settings)) as client:
        answer = client.get(f"/api/assets/{document['id']}")
    assert answer.status_code == 200
    assert answer.json() == document


def test_a_garbage_file_exits_1_with_the_reason_and_stores_nothing(
    runs_dir: Path, tmp_path: Path, imported: dict[str, str]
) -> None:
    garbage = tmp_path / "robot.urdf"
    garbage.write_bytes(b"\x00\x01 definitely not a robot \xff" * 64)
    before = stored(runs_dir)
    code, out, err = qers(runs_dir, "assets", "import", str(garbage))
    assert code == 1, out + err
    assert "error: The asset was refused:" in err
    assert "format not recognised" in err
    assert out == ""
    assert stored(runs_dir) == before
    assert staging_left(runs_dir) == []


def test_an_unknown_project_exits_1_and_stores_nothing(
    runs_dir: Path, imported: dict[str, str]
) -> None:
    before = stored(runs_dir)
    code, out, err = qers(runs_dir, "assets", "import", str(ROBOT), "--project", "prj_unknown")
    assert code == 1, out + err
    assert "No project with id prj_unknown" in err
    assert stored(runs_dir) == before


def test_imports_go_into_open_projects_only(runs_dir: Path) -> None:
    projects = ProjectStore(runs_dir)
    open_id = projects.create(name="cli assets", description="", tags=[])["id"]
    archived_id = projects.create(name="cli archived", description="", tags=[])["id"]
    projects.update(archived_id, Changes(archived=True))
    asset_id = last_line(qers_ok(runs_dir, "assets", "import", str(ROBOT), "--project", open_id))
    code, out, err = qers(runs_dir, "assets", "import", str(ROBOT), "--project", archived_id)
    assert code == 1, out + err
    assert "archived" in err
    listed = json.loads(qers_ok(runs_dir, "assets", "list", "--project", open_id, "--json"))
    assert [item["id"] for item in listed["items"]] == [asset_id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "bad"], "/project_id"),
        (["--density", "0"], "/density_kg_m3"),
        (["--tag", "not a tag"], "/tags/0"),
        (["--main-file", "../escape.urdf"], "/main_file"),
        (["--name", ""], "/name"),
        (["--format", "step"], "'step' is not one of"),
    ],
)
def test_invalid_options_exit_2_and_store_nothing(
    runs_dir: Path, args: list[str], message: str
) -> None:
    before = stored(runs_dir)
    code, out, err = qers(runs_dir, "assets", "import", str(ROBOT), *args)
    assert code == 2, out + err
    assert message in err
    assert stored(runs_dir) == before


def test_a_missing_file_is_a_usage_error(runs_dir: Path, tmp_path: Path) -> None:
    code, out, err = qers(runs_dir, "assets", "import", str(tmp_path / "nope.urdf"))
    assert code == 2, out + err
    assert "does not exist" in err


# --- list ---------------------------------------------------------------------------------


def test_list_shows_the_imports_newest_first(runs_dir: Path, imported: dict[str, str]) -> None:
    out = qers_ok(runs_dir, "assets", "list")
    assert imported["robot"] in out
    assert imported["arm"] in out
    assert out.index(imported["arm"]) < out.index(imported["robot"])
    out = qers_ok(runs_dir, "assets", "list", "--tag", "cli-urdf")
    assert imported["robot"] in out
    assert imported["arm"] not in out


def test_list_json_is_an_asset_list_and_honours_the_limit(
    runs_dir: Path, imported: dict[str, str], contracts: ContractRegistry
) -> None:
    code, out, err = qers(runs_dir, "assets", "list", "--json", "--limit", "1")
    assert code == 0, out + err
    page = json.loads(out)
    assert contracts.errors("AssetList", page) == []
    assert len(page["items"]) == 1
    assert page["next_cursor"] is not None
    everything = json.loads(qers_ok(runs_dir, "assets", "list", "--json", "--format", "urdf"))
    ids = [item["id"] for item in everything["items"]]
    assert {imported["robot"], imported["arm"]} <= set(ids)
    assert "more assets match" in qers(runs_dir, "assets", "list", "--limit", "1")[2]


def test_list_filters_by_format(runs_dir: Path, imported: dict[str, str]) -> None:
    page = json.loads(qers_ok(runs_dir, "assets", "list", "--json", "--format", "mesh"))
    assert page == {"items": [], "next_cursor": None}


# --- progress -----------------------------------------------------------------------------


def test_the_bar_follows_the_copy_then_the_stages() -> None:
    with Progress(disable=True) as progress:
        bar = ImportBar(progress, "arm.zip")
        for done in (1 << 20, 3 << 20):
            bar(done, 3 << 20)  # the copy; its last call completes it
        bar(2, 5)
        copy, stages = progress.tasks
    assert (copy.completed, copy.total) == (3 << 20, 3 << 20)
    assert (stages.completed, stages.total) == (2, 5)
    assert stages.fields["amount"] == "stage 2/5"
