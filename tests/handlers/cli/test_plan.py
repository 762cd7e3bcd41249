"""`qers plan`: the same plans as the API, stored where the API serves them."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.settings import Settings
from tests.handlers.cli.test_assets import last_line, qers, qers_ok


def test_plan_prints_the_steps_and_the_id_the_api_serves(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    task = "Does the quadruped keep standing with worn actuators?"
    out = qers_ok(runs_dir, "plan", task, "--max-runs", "6", "--max-steps", "3000")
    plan_id = last_line(out)
    assert plan_id.startswith("pln_")
    assert "createBatch" in out or "/api/sim/batch" in out
    with TestClient(create_app(Settings(runs_dir=runs_dir, warm_spares=0))) as client:
        plan = client.get(f"/api/ai/plans/{plan_id}").json()
    assert plan["generator"] == "rules@1"
    assert plan["cost"]["runs"] <= 6
    as_json = json.loads(qers_ok(runs_dir, "plan", task, "--max-runs", "6", "--json"))
    assert as_json["steps"][0]["request"]["scenario"] == "quadruped_stand"


def test_refusals_name_the_field(tmp_path: Path) -> None:
    code, _, err = qers(tmp_path / "runs", "plan", "reach", "--scenario", "juggling")
    assert code == 1
    assert "/scenario" in err
    code, _, err = qers(tmp_path / "runs", "plan", "reach", "--max-runs", "0")
    assert code == 2
