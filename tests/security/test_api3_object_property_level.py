"""OWASP API3:2023 Broken Object Property Level Authorisation, tried for real.

Mass assignment: every creating or updating operation of the contract (the POST and PATCH
operations with a body; a test keeps the table equal to the contract) is sent a valid body
plus every field its response has and its request does not — ids, status, timestamps,
hashes, counts, `review_required`, `generator`, `derived_from` … — with the values a real
object of that kind has. Each attempt must be refused with a 422 naming exactly those fields,
and a re-read of every object and list afterwards must show nothing changed or added.

Excessive data exposure: a webhook secret is shown in the creation response only when the
server generated it, never after; and no answer about runs, assets, designs, batches or
plans carries a filesystem path of the server (`urdf_path` is a relative label).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.kit.paths import EXAMPLES_DIR, ROOT
from handlers.settings import Settings
from tests.handlers.queued import wait_for
from tests.handlers.webhooks.test_delivery import Receiver, _serve
from tests.security.test_api1_object_level_authorisation import _contract, _linkage

ARM = "examples/design/arm.obj"
OWN_SECRET = "whsec_" + "Q" * 43 + "="
Ids = dict[str, str]
Body = Callable[[Ids], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    """A creating or updating operation: where it is sent, a valid body, the id it makes."""

    method: str
    path: str  # `{name}` filled from the ids
    body: Body
    makes: str | None  # the ids key its response's id is kept under
    multipart: bool = False


# Every POST/PATCH operation with a body, in an order where each finds the ids it needs.
OPERATIONS: dict[str, Operation] = {
    "createProject": Operation("POST", "/api/projects", lambda ids: {"name": "api3"}, "project"),
    "updateProject": Operation(
        "PATCH", "/api/projects/{project}", lambda ids: {"description": "patched"}, None
    ),
    "importAssetFromPath": Operation(
        "POST",
        "/api/assets/import-path",
        lambda ids: {"source_path": ARM, "name": "arm", "project_id": ids["project"]},
        "asset",
    ),
    "importAsset": Operation(
        "POST",
        "/api/assets/import",
        lambda ids: {"name": "arm upload", "project_id": ids["project"]},
        "upload",
        multipart=True,
    ),
    "segmentAsset": Operation(
        "POST",
        "/api/design/segment",
        lambda ids: {"asset_id": ids["asset"], "method": "mesh_groups"},
        "segmentation",
    ),
    "buildLinkage": Operation(
        "POST", "/api/design/linkage", lambda ids: _linkage(ids["segmentation"]), "linkage"
    ),
    "createRun": Operation(
        "POST",
        "/v1/runs",
        lambda ids: {
            "scenario": "drop_test",
            "options": {
                "steps": 20,
                "project_id": ids["project"],
                "webhook_url": ids["webhook_url"],
                "webhook_secret": OWN_SECRET,
            },
        },
        "run",
    ),
    "startSimRun": Operation(
        "POST",
        "/api/sim/run",
        lambda ids: {
            "scenario": "drop_test",
            "steps": 20,
            "project_id": ids["project"],
            "webhook_url": ids["webhook_url"],
        },
        "job",
    ),
    "createBatch": Operation(
        "POST",
        "/api/sim/batch",
        lambda ids: {
            "scenario": "drop_test",
            "profiles": ["default"],
            "steps": 20,
            "project_id": ids["project"],
        },
        "batch",
    ),
    "createPlan": Operation(
        "POST",
        "/api/ai/plan",
        lambda ids: {"task": "drop the robot", "project_id": ids["project"]},
        "plan",
    ),
    "compareRuns": Operation(
        "POST",
        "/api/sim/compare",
        lambda ids: {"run_ids": [ids["run"], ids["job"]], "metric_key": "score"},
        None,
    ),
}


@dataclass(frozen=True)
class World:
    client: TestClient
    runs_dir: Path
    ids: Ids
    made: dict[str, dict[str, Any]]  # operationId -> its real response
    generated_secret: str  # startSimRun's, shown once


def _send(client: TestClient, name: str, ids: Ids, extra: dict[str, Any]) -> Any:
    operation = OPERATIONS[name]
    path = operation.path.format(**ids)
    body = {**operation.body(ids), **extra}
    if operation.multipart:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        upload = {"file": ("arm.obj", (EXAMPLES_DIR / "design" / "arm.obj").read_bytes())}
        return client.post(path, data=form, files=upload)
    return client.request(operation.method, path, json=body)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[World]:
    runs_dir = tmp_path_factory.mktemp("api3")
    settings = Settings(
        runs_dir=runs_dir,
        warm_spares=0,
        webhook_allow_hosts=["127.0.0.1"],
        webhook_retry_delays_s=[],
    )
    with TestClient(create_app(settings)) as client:
        ids = {"webhook_url": receiver.url()}
        made = {}
        for name, operation in OPERATIONS.items():
            answer = _send(client, name, ids, {})
            assert answer.status_code in (200, 201), (name, answer.text)
            made[name] = answer.json()
            if operation.makes is not None:
                ids[operation.makes] = made[name].get("id") or made[name]["job_id"]
        secret = made["startSimRun"]["webhook"]["secret"]
        robot = {"scenario": "urdf_rollout", "config": {"asset_id": ids["upload"]}}
        answer = client.post("/v1/runs", json={**robot, "options": {"steps": 20}})
        assert answer.status_code == 201, answer.text
        ids["asset_run"] = answer.json()["id"]
        for run in (ids["run"], ids["job"]):  # deliveries done: the runs stop changing
            wait_for(partial(_deliveries, client, run), timeout_s=30, what="the delivery")
        yield World(client, runs_dir, ids, made, secret)


@cache
def _document() -> dict[str, Any]:
    return _contract()


def _deliveries(client: TestClient, run_id: str) -> list[Any]:
    deliveries: list[Any] = client.get(f"/v1/runs/{run_id}").json()["webhook"]["deliveries"]
    return deliveries


def _server_owned(name: str) -> list[str]:
    """The fields the operation's response has and its request does not."""
    document = _document()
    components = document["components"]["schemas"]
    operation = next(
        op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == name
    )
    asked: set[str] = set()
    for media in operation["requestBody"]["content"].values():
        asked |= _top_level(media["schema"], components)
    answered: set[str] = set()
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            for media in response.get("content", {}).values():
                answered |= _top_level(media["schema"], components)
    return sorted(answered - asked)


def _top_level(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        return _top_level(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    return set(schema.get("properties", {}))


def _snapshot(world: World) -> dict[str, Any]:
    """Every object made, and every list, as a reader sees them now."""
    ids, client = world.ids, world.client
    paths = [
        f"/api/projects/{ids['project']}",
        f"/api/assets/{ids['asset']}",
        f"/api/assets/{ids['upload']}",
        f"/api/design/segmentations/{ids['segmentation']}",
        f"/api/design/linkages/{ids['linkage']}",
        f"/v1/runs/{ids['run']}",
        f"/api/sim/{ids['job']}/status",
        f"/api/sim/batch/{ids['batch']}",
        f"/api/ai/plans/{ids['plan']}",
        "/api/projects",
        "/api/assets?limit=100",
        "/v1/runs?limit=1000",
    ]
    return {path: client.get(path).json() for path in paths}


def test_the_table_covers_every_creating_and_updating_operation() -> None:
    with_body = {
        op["operationId"]
        for item in _document()["paths"].values()
        for method, op in item.items()
        if method in ("post", "patch", "put") and "requestBody" in op
    }
    assert set(OPERATIONS) == with_body


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_server_owned_fields_cannot_be_set(world: World, name: str) -> None:
    owned = _server_owned(name)
    assert owned, name  # every response has fields of the server's own
    before = _snapshot(world)
    injected = {field: world.made[name][field] for field in owned}
    answer = _send(world.client, name, world.ids, injected)
    assert answer.status_code == 422, answer.text
    pointers = {error["pointer"] for error in answer.json()["errors"]}
    assert pointers == {f"/{field}" for field in owned}
    assert _snapshot(world) == before


NESTED = {
    "options": {"status": "SUCCEEDED", "id": "run_0123456789abcdef01234567", "finished_at": ""},
    "config": {"asset_sha256": "0" * 64, "trajectory_sha256": "0" * 64},
}


def test_server_owned_fields_inside_nested_objects_cannot_be_set(world: World) -> None:
    body = OPERATIONS["createRun"].body(world.ids)
    body["options"].update(NESTED["options"])
    body["config"] = NESTED["config"]
    before = _snapshot(world)
    answer = world.client.post("/v1/runs", json=body)
    assert answer.status_code == 422, answer.text
    pointers = {error["pointer"] for error in answer.json()["errors"]}
    assert pointers == {f"/{part}/{field}" for part, fields in NESTED.items() for field in fields}
    assert _snapshot(world) == before


def test_a_plan_cannot_skip_review(world: World) -> None:
    body = {**OPERATIONS["createPlan"].body(world.ids), "review_required": False}
    assert world.client.post("/api/ai/plan", json=body).status_code == 422
    plan = world.client.get(f"/api/ai/plans/{world.ids['plan']}").json()
    assert plan["review_required"] is True


def _reads_of(world: World, run_id: str) -> list[str]:
    """Every answer that shows the run."""
    paths = [
        f"/v1/runs/{run_id}",
        f"/v1/runs/{run_id}/metrics",
        f"/api/sim/{run_id}/status",
        f"/api/sim/{run_id}/report",
        f"/api/sim/report/{run_id}",
        f"/api/sim/batch/{world.ids['batch']}",
        "/v1/runs?limit=1000",
        "/api/runs?limit=1000",
    ]
    texts = []
    for path in paths:
        answer = world.client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        texts.append(answer.text)
    return texts


def test_a_callers_own_webhook_secret_is_never_shown(world: World) -> None:
    assert world.made["createRun"]["webhook"]["secret"] is None
    assert world.client.get(f"/v1/runs/{world.ids['run']}").json()["webhook"]["secret"] is None
    for text in _reads_of(world, world.ids["run"]):
        assert OWN_SECRET not in text
        assert OWN_SECRET.removeprefix("whsec_") not in text


def test_a_generated_webhook_secret_is_shown_only_on_creation(world: World) -> None:
    secret = world.generated_secret
    assert secret.startswith("whsec_")
    assert world.client.get(f"/v1/runs/{world.ids['job']}").json()["webhook"]["secret"] is None
    for text in _reads_of(world, world.ids["job"]):
        assert secret.removeprefix("whsec_") not in text


_ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:home|root|tmp|srv|var|usr|etc|opt|proc|work)/")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_no_answer_carries_a_server_path(world: World) -> None:
    ids = world.ids
    paths = [
        *_snapshot(world),
        "/api/runs?limit=1000",
        f"/v1/runs/{ids['run']}/replay?format=json",
        f"/api/sim/report/{ids['run']}",
        f"/v1/runs/{ids['asset_run']}/replay?format=json",
        f"/api/sim/report/{ids['asset_run']}",
        f"/api/sim/{ids['job']}/report",
        f"/api/sim/batch/{ids['batch']}/evaluate",
    ]
    places = (str(world.runs_dir), str(ROOT), str(Path.home()))
    labels = set()
    for path in paths:
        answer = world.client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        for text in _strings(answer.json()):
            assert not any(place in text for place in places), (path, text)
            assert not _ABSOLUTE.search(text), (path, text)
        labels |= set(re.findall(r'"urdf_path":\s*"([^"]*)"', answer.text))
    # The asset run's replay names its robot by the asset's label, relative to RUNS_DIR.
    assert any(label.startswith(f"assets/{ids['upload']}/") for label in labels), labels
