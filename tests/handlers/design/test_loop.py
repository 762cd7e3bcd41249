"""The design loop end to end, in both job backends: a mesh of separate bodies → parts →
a linkage → a URDF asset → a batch across three reality profiles → its evaluation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.handlers.queued import start_worker, stop, worker_env
from tests.redisutil import DB_DESIGN, flush, redis_url

FINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
PROFILES = ["default", "slippery_warehouse", "worn_actuators"]
ARM = "examples/design/arm.obj"


def linkage_spec(segmentation_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((EXAMPLES_DIR / "design" / "linkage.json").read_text())
    spec["segmentation_id"] = segmentation_id
    return spec


def design_arm(client: TestClient, method: str = "connected_components") -> dict[str, Any]:
    """Import the example arm, segment it and export its linkage: the exported asset."""
    imported = client.post("/api/assets/import-path", json={"source_path": ARM, "name": "arm"})
    assert imported.status_code == 201, imported.text
    asset = imported.json()
    assert asset["format"] == "mesh"
    segmented = client.post("/api/design/segment", json={"asset_id": asset["id"], "method": method})
    assert segmented.status_code == 201, segmented.text
    segmentation = segmented.json()
    assert segmented.headers["Location"] == f"/api/design/segmentations/{segmentation['id']}"
    assert [p["name"] for p in segmentation["parts"]] == (
        ["base", "upper_arm", "forearm"]
        if method == "mesh_groups"
        else ["component_000", "component_001", "component_002"]
    )
    assert client.get(segmented.headers["Location"]).json() == segmentation
    spec = linkage_spec(segmentation["id"])
    if method != "mesh_groups":
        found = [p["name"] for p in segmentation["parts"]]
        names = dict(zip(["base", "upper_arm", "forearm"], found, strict=True))
        spec["root"] = names["base"]
        for joint in spec["joints"]:
            joint["parent"], joint["child"] = names[joint["parent"]], names[joint["child"]]
    built = client.post("/api/design/linkage", json=spec)
    assert built.status_code == 201, built.text
    linkage = built.json()
    assert linkage["dof"] == 2
    assert linkage["total_mass_kg"] == pytest.approx(1000 * 0.00515, rel=1e-9)
    verification = linkage["verification"]
    assert verification["loaded"], verification
    assert verification["finite"], verification
    assert all(j["moved"] and j["within_limits"] for j in verification["joints"]), verification
    assert client.get(f"/api/design/linkages/{linkage['id']}").json() == linkage
    exported: dict[str, Any] = client.get(f"/api/assets/{linkage['exported_asset_id']}").json()
    assert exported["format"] == "urdf"
    assert exported["derived_from"] == {
        "asset_id": asset["id"],
        "segmentation_id": segmentation["id"],
        "linkage_id": linkage["id"],
    }
    assert exported["stats"]["dof"] == 2
    assert exported["check"]["loaded"]
    assert exported["check"]["finite"]
    return exported


def batch_body(asset_id: str) -> dict[str, Any]:
    return {
        "scenario": "urdf_rollout",
        "asset_id": asset_id,
        "profiles": PROFILES,
        "dr_episodes_per_profile": 1,
        "steps": 60,
        "params": {"fixed_base": 1},
    }


def check_evaluation(client: TestClient, batch_id: str) -> None:
    evaluation = client.get(f"/api/sim/batch/{batch_id}/evaluate")
    assert evaluation.status_code == 200, evaluation.text
    report = evaluation.json()
    assert {p["profile"] for p in report["profiles"]} == set(PROFILES), report


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("design-loop"), warm_spares=0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("method", ["connected_components", "mesh_groups"])
def test_the_loop_from_mesh_to_batch_evaluation_embedded(method: str, embedded: TestClient) -> None:
    exported = design_arm(embedded, method)
    answer = embedded.post("/api/sim/batch", json=batch_body(exported["id"]))
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["status"] == "SUCCEEDED", report
    assert report["spec"]["asset_sha256"] == exported["sha256"]
    check_evaluation(embedded, report["id"])


def test_the_same_linkage_request_gives_the_same_urdf(embedded: TestClient) -> None:
    imported = embedded.post("/api/assets/import-path", json={"source_path": ARM, "name": "arm"})
    asset_id = imported.json()["id"]
    body = {"asset_id": asset_id, "method": "mesh_groups"}
    segmentation = embedded.post("/api/design/segment", json=body).json()
    spec = {**linkage_spec(segmentation["id"]), "export_urdf": False, "verify": {"steps": 0}}
    first = embedded.post("/api/design/linkage", json=spec).json()
    second = embedded.post("/api/design/linkage", json=spec).json()
    assert first["id"] != second["id"]
    assert first["urdf_sha256"] == second["urdf_sha256"]
    assert first["exported_asset_id"] is None
    assert first["verification"] is None


@pytest.mark.slow
def test_the_loop_from_mesh_to_batch_evaluation_queued(tmp_path: Path) -> None:
    url = redis_url(DB_DESIGN)
    flush(url)
    runs_dir = tmp_path / "runs"
    worker = start_worker(worker_env(url, runs_dir), burst=False)
    try:
        with TestClient(create_app(Settings(runs_dir=runs_dir, redis_url=url))) as client:
            exported = design_arm(client)
            queued = client.post("/api/sim/batch", json=batch_body(exported["id"]))
            assert queued.status_code == 202, queued.text
            batch_id = queued.json()["id"]
            deadline = time.monotonic() + 120
            while (report := client.get(f"/api/sim/batch/{batch_id}").json())[
                "status"
            ] not in FINAL:
                assert time.monotonic() < deadline, report["status"]
                time.sleep(0.2)
            assert report["status"] == "SUCCEEDED", report
            check_evaluation(client, batch_id)
    finally:
        stop(worker)
        flush(url)
