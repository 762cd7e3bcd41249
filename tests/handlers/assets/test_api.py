"""Asset import through the real app: real uploads, real import children, real storage."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pybullet_data
import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.simengine.imports import builders

UPLOAD_LIMIT = 4 * builders.MIB
Upload = Callable[..., Any]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assets-runs")


@pytest.fixture(scope="module")
def client(runs_dir: Path) -> Iterator[TestClient]:
    settings = Settings(runs_dir=runs_dir, max_upload_bytes=UPLOAD_LIMIT, warm_spares=0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def upload(client: TestClient) -> Upload:
    def post(filename: str, data: bytes, **fields: Any) -> Any:
        fields.setdefault("name", filename)
        return client.post("/api/assets/import", data=fields, files={"file": (filename, data)})

    return post


def stored_assets(runs_dir: Path) -> set[str]:
    root = runs_dir / "assets"
    return {p.name for p in root.iterdir() if p.name.startswith("ast_")} if root.exists() else set()


def staging_left(runs_dir: Path) -> list[str]:
    staging = runs_dir / "assets" / ".staging"
    return os.listdir(staging) if staging.exists() else []


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def example_package() -> bytes:
    files = {"arm/simple_arm_mesh.urdf": (EXAMPLES_DIR / "simple_arm_mesh.urdf").read_bytes()}
    for mesh in (EXAMPLES_DIR / "meshes").iterdir():
        files[f"arm/meshes/{mesh.name}"] = mesh.read_bytes()
    return zipped(files)


def a1_package() -> bytes:
    root = Path(pybullet_data.getDataPath()) / "a1"
    files = {"a1/a1.urdf": (root / "a1.urdf").read_bytes()}
    for mesh in (root / "meshes").iterdir():
        files[f"a1/meshes/{mesh.name}"] = mesh.read_bytes()
    return zipped(files)


def two_boxes_obj() -> bytes:
    first = builders.box((0.1, 0.1, 0.1))
    second = builders.box((0.1, 0.1, 0.1), (0.1, 0.0, 0.0))  # touching the first
    return builders.obj_text(first, second)


# --- real imports -----------------------------------------------------------------------


def test_a_urdf_package_is_stored_checked_and_downloadable(
    upload: Upload, client: TestClient
) -> None:
    answer = upload("arm.zip", example_package(), tags=["demo", "arm"])
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert answer.headers["location"] == f"/api/assets/{asset['id']}"
    assert (asset["format"], asset["container"], asset["source_kind"]) == ("urdf", "zip", "urdf")
    assert asset["main_file"] == "simple_arm_mesh.urdf"
    assert asset["stats"]["meshes"] >= 1
    assert asset["check"]["loaded"] is True
    assert asset["check"]["finite"] is True
    assert asset["tags"] == ["demo", "arm"]
    assert client.get(f"/api/assets/{asset['id']}").json() == asset
    package = client.get(f"/api/assets/{asset['id']}/package")
    assert package.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        for entry in asset["files"]:
            data = archive.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["size_bytes"]
    preview = client.get(f"/api/assets/{asset['id']}/preview.png")
    assert preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_a1_quadruped_package_imports(upload: Upload) -> None:
    answer = upload("a1.zip", a1_package())
    assert answer.status_code == 201, answer.text
    stats = answer.json()["stats"]
    assert stats["dof"] == 12
    assert stats["total_mass_kg"] > 5


def test_a_bare_obj_becomes_a_one_link_robot_with_mesh_inertia(upload: Upload) -> None:
    answer = upload("boxes.obj", two_boxes_obj(), density_kg_m3="500")
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert (asset["format"], asset["source_kind"]) == ("mesh", "obj")
    assert asset["stats"]["links"] == 1
    # Two 10 cm cubes at 500 kg/m³: 2 * 0.001 m³ * 500.
    assert asset["stats"]["total_mass_kg"] == pytest.approx(1.0, rel=1e-6)


def test_a_binary_stl_imports(upload: Upload) -> None:
    vertices, faces = builders.box((0.2, 0.2, 0.2))
    answer = upload("cube.stl", builders.stl_binary(vertices, faces))
    assert answer.status_code == 201, answer.text
    assert answer.json()["stats"]["total_mass_kg"] == pytest.approx(8.0, rel=1e-6)


def test_a_collada_mesh_imports(upload: Upload) -> None:
    import trimesh

    data = trimesh.exchange.dae.export_collada(trimesh.creation.box((0.1, 0.2, 0.3)))
    answer = upload("box.dae", data)
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert (asset["format"], asset["source_kind"]) == ("mesh", "dae")
    assert asset["stats"]["total_mass_kg"] == pytest.approx(6.0, rel=1e-6)


def test_the_same_bytes_give_the_same_content_hash(upload: Upload) -> None:
    data = (EXAMPLES_DIR / "simple_robot.urdf").read_bytes()
    first, second = upload("a.urdf", data).json(), upload("b.urdf", data).json()
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_server_file_imports_from_an_import_root(client: TestClient) -> None:
    body = {"name": "simple", "source_path": "examples/simple_robot.urdf"}
    answer = client.post("/api/assets/import-path", json=body)
    assert answer.status_code == 201, answer.text
    outside = client.post("/api/assets/import-path", json={**body, "source_path": "etc/passwd"})
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["pointer"] == "/source_path"


def test_listing_filters_and_pages(upload: Upload, client: TestClient) -> None:
    data = (EXAMPLES_DIR / "simple_robot.urdf").read_bytes()
    for _ in range(3):
        assert upload("r.urdf", data, tags=["paged"]).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        query = {"tag": "paged", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/assets", params=query).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    assert upload("boxes.obj", two_boxes_obj()).status_code == 201
    meshes = client.get("/api/assets", params={"format": "mesh"}).json()["items"]
    assert meshes
    assert all(item["format"] == "mesh" for item in meshes)
    other = client.get("/api/assets", params={"format": "mesh", "cursor": page_cursor(client)})
    assert other.status_code == 422  # a cursor of another query


def page_cursor(client: TestClient) -> str:
    cursor = client.get("/api/assets", params={"limit": 1}).json()["next_cursor"]
    assert cursor is not None
    return str(cursor)


def test_an_idempotency_key_replays_the_import(client: TestClient) -> None:
    data = (EXAMPLES_DIR / "simple_robot.urdf").read_bytes()
    headers = {"Idempotency-Key": "import-once-1"}

    def post(name: str) -> Any:
        files = {"file": ("r.urdf", data)}
        return client.post("/api/assets/import", data={"name": name}, files=files, headers=headers)

    first, again, other = post("once"), post("once"), post("different")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422


# --- refusals: a clear 4xx, nothing stored, the server still serving ----------------------

URDF_TWO_ROOTS = builders.urdf(builders.link("a") + builders.link("b"))
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<robot name="r"><link name="&lol2;"/></robot>'
)
PASSWD_MESH = builders.urdf(builders.link("a", builders.mesh("/etc/passwd")))
BAD_OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"
ZIP_SLIP = zipped({"../evil.urdf": URDF_TWO_ROOTS})
ABSOLUTE_ENTRY = zipped({"/etc/evil.urdf": URDF_TWO_ROOTS})


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(builders.symlink_info("robot.urdf"), b"/etc/passwd")
    return buffer.getvalue()


def zip_bomb(tmp: Path) -> bytes:
    """200 MiB of zeros in a ~200 KiB zip whose headers tell the truth."""
    deflated, crc = builders.zeros_deflated(200)
    entry = builders.RawEntry(
        name=b"bomb.obj",
        data=deflated,
        method=zipfile.ZIP_DEFLATED,
        crc=crc,
        file_size=200 * builders.MIB,
    )
    return builders.write_raw_zip(tmp / "bomb.zip", [entry]).read_bytes()


HOSTILE = {
    "zip-slip": ("evil.zip", ZIP_SLIP, 422, "evil.urdf"),
    "absolute-entry": ("evil.zip", ABSOLUTE_ENTRY, 422, "evil.urdf"),
    "symlink-entry": ("link.zip", symlink_zip(), 422, "robot.urdf"),
    "zip-bomb": ("bomb.zip", b"", 413, "bomb.obj"),  # built in the test (a temporary file)
    "obj-index-out-of-range": ("bad.obj", BAD_OBJ, 422, ""),
    "garbage-named-stl": ("garbage.stl", os.urandom(3000), 422, "format"),
    "urdf-two-roots": ("two.urdf", URDF_TWO_ROOTS, 422, "root"),
    "billion-laughs": ("lol.urdf", BILLION_LAUGHS, 422, ""),
    "mesh-path-to-etc-passwd": ("passwd.urdf", PASSWD_MESH, 422, "filename"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_upload_is_refused_and_nothing_is_stored(
    case: str, upload: Upload, client: TestClient, runs_dir: Path, tmp_path: Path
) -> None:
    filename, data, status, named = HOSTILE[case]
    if case == "zip-bomb":
        data = zip_bomb(tmp_path)
    before = stored_assets(runs_dir)
    answer = upload(filename, data)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert named in problem["detail"]
    assert str(runs_dir) not in answer.text
    assert str(tmp_path.parent) not in problem["detail"]
    assert stored_assets(runs_dir) == before
    assert staging_left(runs_dir) == []
    assert client.get("/v1/health").status_code == 200


def test_an_upload_over_the_limit_is_a_413(upload: Upload, runs_dir: Path) -> None:
    before = stored_assets(runs_dir)
    answer = upload("big.obj", b"#" * (UPLOAD_LIMIT + 1))
    assert answer.status_code == 413
    assert stored_assets(runs_dir) == before


def test_form_mistakes_are_named(client: TestClient) -> None:
    no_file = client.post("/api/assets/import", files=[("name", (None, "x"))])
    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["pointer"] == "/file"
    as_json = client.post("/api/assets/import", json={"name": "x"})
    assert as_json.status_code == 415
    files = {"file": ("r.urdf", b"<robot/>")}
    bad_density = client.post(
        "/api/assets/import", data={"name": "x", "density_kg_m3": "-1"}, files=files
    )
    assert bad_density.status_code == 422
    assert bad_density.json()["errors"][0]["pointer"] == "/density_kg_m3"
    unknown = client.post(
        "/api/assets/import", data={"name": "x", "project_id": "prj_unknown"}, files=files
    )
    assert unknown.status_code == 404


def test_unknown_assets_are_404(client: TestClient) -> None:
    for suffix in ("", "/package", "/preview.png"):
        assert client.get(f"/api/assets/ast_000000000000000000000000{suffix}").status_code == 404


# --- USD ------------------------------------------------------------------------------------


def usd_robot() -> bytes:
    from tests.simengine.imports.test_usd import HINGE, two_body_robot

    return two_body_robot(HINGE).encode()


def test_a_usd_stage_with_two_bodies_and_a_hinge_imports(upload: Upload) -> None:
    answer = upload("robot.usda", usd_robot())
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert (asset["format"], asset["source_kind"]) == ("usd", "usda")
    assert (asset["stats"]["links"], asset["stats"]["dof"]) == (2, 1)
    assert asset["check"]["finite"] is True


def test_a_usd_package_in_a_zip_imports(upload: Upload) -> None:
    answer = upload("robot.zip", zipped({"robot/robot.usda": usd_robot()}))
    assert answer.status_code == 201, answer.text
    assert answer.json()["container"] == "zip"


@pytest.mark.parametrize(
    ("arc", "named"),
    [
        ("subLayers = [@/etc/hosts@]", "/hosts"),
        ("subLayers = [@../outside.usda@]", "../outside.usda"),
    ],
    ids=["absolute-sublayer", "parent-reference"],
)
def test_a_usd_stage_reaching_outside_its_package_is_refused(
    arc: str, named: str, upload: Upload, runs_dir: Path
) -> None:
    stage = usd_robot().decode().replace("(\n", f"(\n    {arc}\n", 1).encode()
    assert arc.encode() in stage
    before = stored_assets(runs_dir)
    answer = upload("robot.zip", zipped({"robot/robot.usda": stage}))
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["detail"]
    assert stored_assets(runs_dir) == before
