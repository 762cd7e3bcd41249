"""`/api/design` through the app with the real children: answers, errors, storage."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.simengine.imports import builders

ARM = "examples/design/arm.obj"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("design-api")


@pytest.fixture(scope="module")
def client(runs_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(runs_dir=runs_dir, warm_spares=0))) as client:
        yield client


def upload(client: TestClient, filename: str, data: bytes) -> str:
    answer = client.post(
        "/api/assets/import", data={"name": filename}, files={"file": (filename, data)}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def arm(client: TestClient) -> str:
    answer = client.post("/api/assets/import-path", json={"source_path": ARM, "name": "arm"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def groups(client: TestClient, arm: str) -> dict[str, Any]:
    answer = client.post("/api/design/segment", json={"asset_id": arm, "method": "mesh_groups"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def spec(segmentation_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES_DIR / "design" / "linkage.json").read_text())
    body.update(segmentation_id=segmentation_id, export_urdf=False, verify={"steps": 0})
    body.update(changes)
    return body


def pointers(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [error["pointer"] for error in answer.json()["errors"]]


def staging_is_empty(runs_dir: Path) -> bool:
    staging = runs_dir / "design" / ".staging"
    return not staging.exists() or os.listdir(staging) == []


def test_mesh_groups_of_the_example_are_its_bodies(groups: dict[str, Any], runs_dir: Path) -> None:
    parts = {part["name"]: part for part in groups["parts"]}
    assert list(parts) == ["base", "upper_arm", "forearm"]
    assert parts["base"]["mass_kg"] == pytest.approx(1000 * 0.2 * 0.2 * 0.1, rel=1e-9)
    assert parts["upper_arm"]["centroid_m"] == pytest.approx([0.0, 0.0, 0.26], abs=1e-9)
    assert all(part["watertight"] and part["inertia_source"] == "mesh" for part in parts.values())
    folder = runs_dir / "design" / "segmentations" / groups["id"]
    for part in parts.values():
        assert (folder / part["mesh_file"]).is_file()


def test_links_of_a_urdf_carry_the_links_masses(client: TestClient) -> None:
    asset = upload(client, "r.urdf", (EXAMPLES_DIR / "simple_robot.urdf").read_bytes())
    answer = client.post("/api/design/segment", json={"asset_id": asset, "method": "links"})
    assert answer.status_code == 201, answer.text
    parts = answer.json()["parts"]
    assert [p["inertia_source"] for p in parts] == ["link"] * len(parts)
    assert parts[0]["mass_kg"] == pytest.approx(2.0)


def test_segmentation_refusals_name_the_field(client: TestClient, arm: str, runs_dir: Path) -> None:
    unknown = client.post(
        "/api/design/segment", json={"asset_id": "ast_" + "0" * 24, "method": "links"}
    )
    assert unknown.status_code == 404
    body = {"asset_id": arm, "method": "connected_components", "max_parts": 2}
    too_many = client.post("/api/design/segment", json=body)
    assert pointers(too_many) == ["/max_parts"]
    assert "3 parts were found" in too_many.json()["errors"][0]["reason"]
    box = upload(client, "box.stl", builders.stl_binary(*builders.box((0.1, 0.1, 0.1))))
    no_groups = client.post("/api/design/segment", json={"asset_id": box, "method": "mesh_groups"})
    assert pointers(no_groups) == ["/method"]
    robot = upload(client, "r.urdf", (EXAMPLES_DIR / "simple_robot.urdf").read_bytes())
    many_links = client.post(
        "/api/design/segment", json={"asset_id": robot, "method": "connected_components"}
    )
    assert pointers(many_links) == ["/method"]
    assert "links" in many_links.json()["errors"][0]["reason"]
    assert staging_is_empty(runs_dir)


def test_every_broken_linkage_rule_is_listed(
    client: TestClient, groups: dict[str, Any], runs_dir: Path
) -> None:
    body = spec(groups["id"])
    body["joints"][0]["axis"] = [0.0, 0.0, 0.0]
    body["joints"][1]["limit"]["lower"] = 2.0
    body["joints"][1]["child"] = "upper_arm"
    body["links"] = [{"part": "nowhere", "mass_kg": 1.0}]
    found = pointers(client.post("/api/design/linkage", json=body))
    assert "/joints/0/axis" in found
    assert "/joints/1/limit/lower" in found
    assert "/joints/1/child" in found
    assert "/links/0/part" in found
    assert staging_is_empty(runs_dir)
    assert not (runs_dir / "design" / "linkages").exists() or not any(
        (runs_dir / "design" / "linkages").iterdir()
    )


def test_unknown_segmentation_and_linkage_are_404(client: TestClient) -> None:
    missing = client.post("/api/design/linkage", json=spec("seg_" + "0" * 24))
    assert missing.status_code == 404
    assert client.get("/api/design/segmentations/seg_" + "0" * 24).status_code == 404
    assert client.get("/api/design/linkages/lnk_" + "0" * 24).status_code == 404


def test_an_idempotency_key_replays_the_segmentation(client: TestClient, arm: str) -> None:
    body = {"asset_id": arm, "method": "connected_components"}
    headers = {"Idempotency-Key": "design-replay-1"}
    first = client.post("/api/design/segment", json=body, headers=headers)
    again = client.post("/api/design/segment", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/api/design/segment", json={**body, "max_parts": 5}, headers=headers)
    assert other.status_code == 422


def test_a_linkage_without_export_is_stored_and_verified(
    client: TestClient, groups: dict[str, Any], runs_dir: Path
) -> None:
    answer = client.post("/api/design/linkage", json=spec(groups["id"], verify={"steps": 120}))
    assert answer.status_code == 201, answer.text
    linkage = answer.json()
    assert answer.headers["Location"] == f"/api/design/linkages/{linkage['id']}"
    assert linkage["exported_asset_id"] is None
    assert linkage["verification"]["steps"] == 120
    assert [j["name"] for j in linkage["verification"]["joints"]] == ["shoulder", "elbow"]
    folder = runs_dir / "design" / "linkages" / linkage["id"]
    assert (folder / "robot.urdf").is_file()
    assert sorted(os.listdir(folder / "meshes")) == sorted(
        os.path.basename(p["mesh_file"]) for p in groups["parts"]
    )
