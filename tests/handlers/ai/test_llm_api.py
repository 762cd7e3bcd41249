"""The LLM planner behind the real app, against a loopback chat-completions server: a
valid answer becomes the plan (and its steps are accepted by the live server); an invalid
one of each kind falls back to the rules planner with a warning saying why."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.settings import Settings
from tests.handlers.ai.loopback import Loopback
from tests.handlers.ai.test_submit import run_count, submit
from tests.handlers.ai.test_vetting import PLAN

TASK = {"task": "Does the arm still reach on a slippery floor?", "scenario": "arm_reach"}
BUDGET = {"max_runs": 10, "max_steps_total": 8000}


def small_plan() -> dict[str, Any]:
    """The vetting tests' valid plan, with runs short enough for a test."""
    plan = copy.deepcopy(PLAN)
    for step in plan["steps"]:
        request = step.get("request") or {}
        if step["operation"] == "createBatch":
            request.update(steps=200, dr_episodes_per_profile=2)
        elif step["operation"] == "createRun":
            request.setdefault("options", {})["steps"] = 200
        elif step["operation"] == "startSimRun":
            request["steps"] = 200
    return plan


@pytest.fixture(scope="module")
def llm() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, llm: Loopback) -> Iterator[TestClient]:
    runs_dir: Path = tmp_path_factory.mktemp("llm-plans")
    settings = Settings(
        runs_dir=runs_dir,
        warm_spares=0,
        planner_url=llm.url,
        planner_model="loopback-1",
        planner_api_key="sk-test-secret",
        planner_timeout_s=2.0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_valid_llm_plan_is_served_and_its_steps_are_accepted(
    client: TestClient, llm: Loopback
) -> None:
    llm.status, llm.delay_s, llm.raw = 200, 0.0, None
    llm.content = json.dumps(small_plan())
    before = run_count(client)
    answer = client.post("/api/ai/plan", json={**TASK, "budget": BUDGET})
    assert answer.status_code == 201, answer.text
    plan = answer.json()
    assert plan["generator"] == "llm:loopback-1"
    assert plan["review_required"] is True
    assert run_count(client) == before
    assert llm.requests[-1].headers["authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in answer.text
    submit(client, plan)
    assert run_count(client) - before == plan["cost"]["runs"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"content": "this is not JSON"}, "was not JSON"),
        ({"content": json.dumps({"plan": "no steps"})}, "did not have the plan's shape"),
        ({"status": 500}, "HTTP status 500"),
        ({"delay_s": 3.0}, "did not answer within 2 s"),
        ({"edit": ("baseline", {"operation": "deleteEverything"})}, "does not exist"),
        ({"edit": ("slippery", {"request": {"scenario": "arm_reach", "profile": "mars"}})}, None),
        ({"budget": {"max_runs": 1, "max_steps_total": 8000}}, "over budget"),
    ],
)
def test_invalid_llm_answers_fall_back_to_the_rules(
    client: TestClient, llm: Loopback, answer: dict[str, Any], reason: str | None
) -> None:
    plan = small_plan()
    if "edit" in answer:
        step_id, changes = answer["edit"]
        for step in plan["steps"]:
            if step["id"] != step_id:
                continue
            step.update(changes)
        # leave only that step, so that nothing valid remains
        plan["steps"] = [s for s in plan["steps"] if s["id"] == step_id]
    llm.content = answer.get("content", json.dumps(plan))
    llm.status = answer.get("status", 200)
    llm.delay_s = answer.get("delay_s", 0.0)
    body = {**TASK, "budget": answer.get("budget", BUDGET)}
    response = client.post("/api/ai/plan", json=body)
    llm.delay_s, llm.status = 0.0, 200
    assert response.status_code == 201, response.text
    result = response.json()
    warnings = " | ".join(result["warnings"])
    if "budget" in answer:
        # the first run fits; every step after it is over budget and dropped
        assert result["generator"] == "llm:loopback-1"
        assert "over budget" in warnings
        assert result["cost"]["runs"] <= 1
        return
    assert result["generator"] == "rules@1", warnings
    assert "the rules planner (rules@1) answered instead of the LLM" in warnings
    if reason is not None:
        assert reason in warnings, warnings
