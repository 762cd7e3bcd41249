"""`qers design segment` and `qers design linkage` with the real children; what they store
is what the API serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings
from tests.handlers.cli.test_assets import last_line, qers, qers_ok

ARM = EXAMPLES_DIR / "design" / "arm.obj"
SPEC = EXAMPLES_DIR / "design" / "linkage.json"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-design") / "runs"


@pytest.fixture(scope="module")
def asset(runs_dir: Path) -> str:
    return last_line(qers_ok(runs_dir, "assets", "import", str(ARM)))


def test_segment_then_linkage_prints_ids_the_api_serves(runs_dir: Path, asset: str) -> None:
    out = qers_ok(runs_dir, "design", "segment", asset, "--method", "mesh_groups")
    segmentation = last_line(out)
    assert segmentation.startswith("seg_")
    assert "upper_arm" in out
    out = qers_ok(runs_dir, "design", "linkage", str(SPEC), "--segmentation", segmentation)
    exported = last_line(out)
    assert exported.startswith("ast_")
    with TestClient(create_app(Settings(runs_dir=runs_dir, warm_spares=0))) as client:
        stored = client.get(f"/api/design/segmentations/{segmentation}")
        assert [p["name"] for p in stored.json()["parts"]] == ["base", "upper_arm", "forearm"]
        derived = client.get(f"/api/assets/{exported}").json()["derived_from"]
        assert derived["segmentation_id"] == segmentation


def test_json_output_is_the_document(runs_dir: Path, asset: str) -> None:
    out = qers_ok(
        runs_dir, "design", "segment", asset, "--method", "connected_components", "--json"
    )
    document = json.loads(out)
    assert document["method"] == "connected_components"
    assert len(document["parts"]) == 3


def test_refusals_exit_1_with_the_pointer(runs_dir: Path, asset: str, tmp_path: Path) -> None:
    code, _, err = qers(
        runs_dir, "design", "segment", asset, "--method", "connected_components", "--max-parts", "1"
    )
    assert code == 1
    assert "/max_parts" in err
    assert "3 parts were found" in err
    seg = last_line(qers_ok(runs_dir, "design", "segment", asset, "--method", "mesh_groups"))
    spec = json.loads(SPEC.read_text())
    spec["joints"][1]["limit"]["lower"] = 5.0
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(spec))
    code, _, err = qers(runs_dir, "design", "linkage", str(broken), "--segmentation", seg)
    assert code == 1
    assert "/joints/1/limit/lower" in err
    code, _, err = qers(runs_dir, "design", "segment", asset, "--method", "voxels")
    assert code == 2
