"""Runs, sim jobs and batches on imported assets, in both job backends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.handlers.assets.test_api import example_package, usd_robot
from tests.handlers.queued import start_worker, stop, worker_env
from tests.redisutil import DB_ASSETS, flush, redis_url
from tests.simengine.imports import builders

FINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def import_asset(client: TestClient, filename: str, data: bytes) -> dict[str, Any]:
    answer = client.post(
        "/api/assets/import", data={"name": filename}, files={"file": (filename, data)}
    )
    assert answer.status_code == 201, answer.text
    asset: dict[str, Any] = answer.json()
    return asset


def kinds() -> dict[str, tuple[str, bytes]]:
    vertices, faces = builders.box((0.2, 0.1, 0.1))
    return {
        "urdf-package": ("arm.zip", example_package()),
        "usd-stage": ("robot.usda", usd_robot()),
        "obj": ("box.obj", builders.obj_text(builders.box((0.1, 0.1, 0.1)))),
        "stl": ("box.stl", builders.stl_binary(vertices, faces)),
    }


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("asset-runs"), warm_spares=0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_each_kind_of_asset_runs_and_replays_bit_for_bit(kind: str, embedded: TestClient) -> None:
    asset = import_asset(embedded, *kinds()[kind])
    body = {"scenario": "urdf_rollout", "asset_id": asset["id"], "steps": 60, "seed": 3}
    job = embedded.post("/api/sim/run", json=body)
    assert job.status_code == 200, job.text
    run = embedded.get(f"/v1/runs/{job.json()['run_id']}").json()
    assert run["status"] == "SUCCEEDED", run
    assert run["config"]["asset_id"] == asset["id"]
    assert run["config"]["asset_sha256"] == asset["sha256"]
    again = embedded.post(
        "/v1/runs", json={"scenario": "urdf_rollout", "options": {"replay_of": run["id"]}}
    )
    assert again.status_code == 201, again.text
    replay = again.json()
    assert replay["config"]["asset_id"] == asset["id"]
    assert replay["trajectory_sha256"] == run["trajectory_sha256"]
    assert replay["replay_match"] is True


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_a_batch_across_profiles_runs_on_each_kind_of_asset(
    kind: str, embedded: TestClient
) -> None:
    asset = import_asset(embedded, *kinds()[kind])
    body = {
        "scenario": "urdf_rollout",
        "asset_id": asset["id"],
        "profiles": ["default", "slippery_warehouse", "worn_actuators"],
        "dr_episodes_per_profile": 2,
        "steps": 40,
    }
    answer = embedded.post("/api/sim/batch", json=body)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["status"] == "SUCCEEDED", report
    assert report["spec"]["asset_id"] == asset["id"]
    assert report["spec"]["asset_sha256"] == asset["sha256"]
    runs = embedded.get("/api/runs", params={"batch_id": report["id"], "limit": 10}).json()
    assert len(runs["items"]) == 6
    assert {r["config"]["asset_id"] for r in runs["items"]} == {asset["id"]}


def test_asset_mistakes_are_named(embedded: TestClient) -> None:
    asset = import_asset(embedded, "r.urdf", (EXAMPLES_DIR / "simple_robot.urdf").read_bytes())
    both = embedded.post(
        "/api/sim/run",
        json={
            "scenario": "urdf_rollout",
            "asset_id": asset["id"],
            "urdf_path": "examples/simple_robot.urdf",
        },
    )
    assert both.status_code == 422
    assert both.json()["errors"][0]["pointer"] == "/asset_id"
    no_urdf = embedded.post("/api/sim/run", json={"scenario": "drop_test", "asset_id": asset["id"]})
    assert no_urdf.status_code == 422
    assert no_urdf.json()["errors"][0]["pointer"] == "/asset_id"
    v1 = embedded.post(
        "/v1/runs", json={"scenario": "drop_test", "config": {"asset_id": asset["id"]}}
    )
    assert v1.json()["errors"][0]["pointer"] == "/config/asset_id"
    unknown = embedded.post(
        "/api/sim/run",
        json={"scenario": "urdf_rollout", "asset_id": "ast_000000000000000000000000"},
    )
    assert unknown.status_code == 404


@pytest.mark.slow
def test_queued_workers_run_assets_from_the_shared_runs_dir(tmp_path: Path) -> None:
    url = redis_url(DB_ASSETS)
    flush(url)
    runs_dir = tmp_path / "runs"
    worker = start_worker(worker_env(url, runs_dir), burst=False)
    try:
        settings = Settings(runs_dir=runs_dir, redis_url=url)
        with TestClient(create_app(settings)) as client:
            submitted = []
            for filename, data in kinds().values():
                asset = import_asset(client, filename, data)
                body = {"scenario": "urdf_rollout", "asset_id": asset["id"], "steps": 40}
                queued = client.post("/api/sim/run", json=body)
                assert queued.status_code == 202, queued.text
                batch = client.post(
                    "/api/sim/batch", json={**body, "profiles": ["default", "slippery_warehouse"]}
                )
                assert batch.status_code == 202, batch.text
                submitted.append((asset, queued.json()["run_id"], batch.json()["id"]))
            deadline = time.monotonic() + 120
            for asset, run_id, batch_id in submitted:
                while True:
                    run = client.get(f"/v1/runs/{run_id}").json()
                    report = client.get(f"/api/sim/batch/{batch_id}").json()
                    if run["status"] in FINAL and report["status"] in FINAL:
                        break
                    assert time.monotonic() < deadline, (run["status"], report["status"])
                    time.sleep(0.2)
                assert run["status"] == "SUCCEEDED", run
                assert run["config"]["asset_sha256"] == asset["sha256"]
                assert report["status"] == "SUCCEEDED", report
    finally:
        stop(worker)
        flush(url)
