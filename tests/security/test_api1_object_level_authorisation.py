"""OWASP API1:2023 Broken Object Level Authorisation, tried for real.

Runners bound to project A make one object of every kind (run, sim job, asset, segmentation,
linkage, batch, plan) in the real app with API keys on. An admin bound to project B — every
role, so only project scoping can stop it — then tries every operation that takes an id or a
`project_id` on them: each answer must be the very 404 an unknown id gets (no existence
leak), lists must not show them, and creating into A or from A's objects must be refused.
A table names every such operation, and a test keeps it equal to what the contract has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.auth.roles import Role
from handlers.auth.store import KeyStore
from handlers.kit.paths import EXAMPLES_DIR
from handlers.settings import Settings

ARM = "examples/design/arm.obj"
RUN: dict[str, Any] = {"scenario": "drop_test", "options": {"steps": 50, "seed": 1}}
BATCH = {"scenario": "drop_test", "profiles": ["default"], "steps": 20, "seed": 3}
# Body or query fields naming an object or a project: operations with one are in CASES.
REFERENCING = {"project_id", "asset_id", "segmentation_id", "run_id", "run_ids", "replay_of"}
Headers = dict[str, str]


@dataclass(frozen=True)
class World:
    client: TestClient
    owner: Headers  # runner bound to project A
    intruder: Headers  # admin bound to project B
    admin: Headers  # admin of every project
    ids: dict[str, str]
    counts: dict[str, int]  # project A's, once everything was made


def _key(store: KeyStore, role: Role, projects: tuple[str, ...] = ()) -> Headers:
    made, _ = store.create(role=role, projects=projects, name=role.label)
    return {"X-API-Key": made.key}


def _created(answer: Any) -> str:
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"] if "id" in answer.json() else answer.json()["job_id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    runs_dir = tmp_path_factory.mktemp("api1")
    store = KeyStore(runs_dir)
    admin = _key(store, Role.ADMIN)
    settings = Settings(runs_dir=runs_dir, warm_spares=0, auth=("api_key",))
    with TestClient(create_app(settings)) as client:
        a = _created(client.post("/api/projects", json={"name": "alpha"}, headers=admin))
        b = _created(client.post("/api/projects", json={"name": "beta"}, headers=admin))
        owner = _key(store, Role.RUNNER, (a,))
        intruder = _key(store, Role.ADMIN, (b,))
        ids = {"project": a, "other_project": b}
        run = {"scenario": "drop_test", "options": {**RUN["options"], "project_id": a}}
        ids["run"] = _created(client.post("/v1/runs", json=run, headers=owner))
        ids["run2"] = _created(client.post("/v1/runs", json=run, headers=owner))
        job = {"scenario": "drop_test", "steps": 50, "project_id": a}
        ids["job"] = _created(client.post("/api/sim/run", json=job, headers=owner))
        asset = {"source_path": ARM, "name": "arm", "project_id": a}
        ids["asset"] = _created(client.post("/api/assets/import-path", json=asset, headers=owner))
        segment = {"asset_id": ids["asset"], "method": "mesh_groups"}
        ids["segmentation"] = _created(
            client.post("/api/design/segment", json=segment, headers=owner)
        )
        linkage = _linkage(ids["segmentation"])
        ids["linkage"] = _created(client.post("/api/design/linkage", json=linkage, headers=owner))
        batch = {**BATCH, "project_id": a}
        ids["batch"] = _created(client.post("/api/sim/batch", json=batch, headers=owner))
        plan = {"task": "drop the robot", "project_id": a}
        ids["plan"] = _created(client.post("/api/ai/plan", json=plan, headers=owner))
        counts = client.get(f"/api/projects/{a}", headers=admin).json()["counts"]
        yield World(client, owner, intruder, admin, ids, counts)


def _linkage(segmentation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES_DIR / "design" / "linkage.json").read_text())
    body.update(segmentation_id=segmentation_id, export_urdf=False, verify={"steps": 0})
    return body


@dataclass(frozen=True)
class Case:
    """One attempt: method, path (`{name}` filled from the world's ids), body, the kind and
    id key whose 404 it must get (`project` for creates into A)."""

    method: str
    path: str
    kind: str
    target: str
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None


def _a(**fields: Any) -> dict[str, Any]:
    return {"project_id": "{project}", **fields}


# Every operation that reads, changes or creates from an object by id, or names a project.
CASES: dict[str, Case] = {
    "getRun": Case("GET", "/v1/runs/{run}", "run", "run"),
    "getRunMetrics": Case("GET", "/v1/runs/{run}/metrics", "run", "run"),
    "getRunReplay": Case("GET", "/v1/runs/{run}/replay?format=json", "run", "run"),
    "cancelRun": Case("POST", "/v1/runs/{run}/cancel", "run", "run"),
    "getSimJobStatus": Case("GET", "/api/sim/{job}/status", "run", "job"),
    "getSimJobMetrics": Case("GET", "/api/sim/{job}/metrics", "run", "job"),
    "getSimJobReport": Case("GET", "/api/sim/{job}/report", "run", "job"),
    "cancelSimJob": Case("POST", "/api/sim/{job}/cancel", "run", "job"),
    "getSimStep": Case("GET", "/api/sim/step?run_id={run}&step_index=0", "run", "run"),
    "getSimRunMetrics": Case("GET", "/api/sim/metrics/{run}", "run", "run"),
    "getSimRunReport": Case("GET", "/api/sim/report/{run}", "run", "run"),
    "getProject": Case("GET", "/api/projects/{project}", "project", "project"),
    "updateProject": Case(
        "PATCH", "/api/projects/{project}", "project", "project", body={"archived": True}
    ),
    "getAsset": Case("GET", "/api/assets/{asset}", "asset", "asset"),
    "getAssetPackage": Case("GET", "/api/assets/{asset}/package", "asset", "asset"),
    "getAssetPreview": Case("GET", "/api/assets/{asset}/preview.png", "asset", "asset"),
    "getSegmentation": Case(
        "GET", "/api/design/segmentations/{segmentation}", "segmentation", "segmentation"
    ),
    "getLinkage": Case("GET", "/api/design/linkages/{linkage}", "linkage", "linkage"),
    "getPlan": Case("GET", "/api/ai/plans/{plan}", "plan", "plan"),
    "getBatch": Case("GET", "/api/sim/batch/{batch}", "batch", "batch"),
    "evaluateBatch": Case("GET", "/api/sim/batch/{batch}/evaluate", "batch", "batch"),
    "createRun": Case(
        "POST",
        "/v1/runs",
        "project",
        "project",
        body={"scenario": "drop_test", "options": _a(steps=10)},
    ),
    "startSimRun": Case(
        "POST", "/api/sim/run", "project", "project", body=_a(scenario="drop_test", steps=10)
    ),
    "createBatch": Case("POST", "/api/sim/batch", "project", "project", body=_a(**BATCH)),
    "createPlan": Case("POST", "/api/ai/plan", "project", "project", body=_a(task="drop it")),
    "importAssetFromPath": Case(
        "POST",
        "/api/assets/import-path",
        "project",
        "project",
        body=_a(source_path=ARM, name="arm"),
    ),
    "importAsset": Case(
        "POST",
        "/api/assets/import",
        "project",
        "project",
        form={"name": "arm", "project_id": "{project}"},
    ),
    "segmentAsset": Case(
        "POST",
        "/api/design/segment",
        "asset",
        "asset",
        body={"asset_id": "{asset}", "method": "mesh_groups"},
    ),
    "buildLinkage": Case(
        "POST",
        "/api/design/linkage",
        "segmentation",
        "segmentation",
        body=_linkage("{segmentation}"),
    ),
    "compareRuns": Case(
        "POST",
        "/api/sim/compare",
        "run",
        "run",
        body={"run_ids": ["{run}", "{run2}"], "metric_key": "max_height"},
    ),
}
# The same refusals for references inside creating bodies, beyond the project.
REFERENCE_CASES = {
    "createRun replay_of": Case(
        "POST",
        "/v1/runs",
        "run",
        "run",
        body={"scenario": "drop_test", "options": _a(replay_of="{run}", project_id="{other}")},
    ),
    "startSimRun asset_id": Case(
        "POST",
        "/api/sim/run",
        "asset",
        "asset",
        body={"scenario": "drop_test", "asset_id": "{asset}", "project_id": "{other}"},
    ),
    "createPlan asset_id": Case(
        "POST",
        "/api/ai/plan",
        "asset",
        "asset",
        body={"task": "drop it", "asset_id": "{asset}", "project_id": "{other}"},
    ),
}
LISTS = {"listRuns": "/v1/runs", "listApiRuns": "/api/runs", "listAssets": "/api/assets"}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    names = {**ids, "other": ids["other_project"]}
    if isinstance(value, str):
        return value.format(**names) if "{" in value else value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _attempt(world: World, case: Case, headers: Headers) -> Any:
    path = _fill(case.path, world.ids)
    if case.form is not None:
        files = {"file": ("arm.obj", (EXAMPLES_DIR / "design" / "arm.obj").read_bytes())}
        data = _fill(case.form, world.ids)
        return world.client.post(path, data=data, files=files, headers=headers)
    body = _fill(case.body, world.ids) if case.body is not None else None
    return world.client.request(case.method, path, json=body, headers=headers)


@pytest.mark.parametrize("name", [*CASES, *REFERENCE_CASES])
def test_another_projects_object_is_a_404_like_an_unknown_id(world: World, name: str) -> None:
    case = {**CASES, **REFERENCE_CASES}[name]
    answer = _attempt(world, case, world.intruder)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    identifier = world.ids[case.target]
    # Word for word what an id that does not exist gets: nothing tells "exists, not yours".
    assert answer.json()["detail"] == f"No {case.kind} with id {identifier}."


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.method == "GET"])
def test_the_owner_reads_what_the_intruder_cannot(world: World, name: str) -> None:
    answer = _attempt(world, CASES[name], world.owner)
    assert answer.status_code in (200, 409), answer.text  # 409: e.g. no replay recorded


def test_nothing_of_the_refused_attempts_was_made_or_changed(world: World) -> None:
    project = world.client.get(f"/api/projects/{world.ids['project']}", headers=world.admin)
    assert project.json()["archived"] is False
    assert project.json()["counts"] == world.counts
    assert world.counts["runs"] >= 3
    assert world.counts["assets"] == 1


@pytest.mark.parametrize("operation", sorted(LISTS))
def test_lists_show_only_the_callers_projects(world: World, operation: str) -> None:
    path = LISTS[operation]
    mine = {item["id"] for item in world.client.get(path, headers=world.owner).json()["items"]}
    assert world.ids["run" if "Runs" in operation else "asset"] in mine
    theirs = world.client.get(path, headers=world.intruder).json()["items"]
    assert theirs == []
    asked = world.client.get(f"{path}?project_id={world.ids['project']}", headers=world.intruder)
    assert asked.status_code == 200
    assert asked.json()["items"] == []
    everything = world.client.get(path, headers=world.admin).json()["items"]
    assert mine <= {item["id"] for item in everything}


def test_list_projects_shows_only_the_callers(world: World) -> None:
    seen = world.client.get("/api/projects", headers=world.intruder).json()["items"]
    assert [project["id"] for project in seen] == [world.ids["other_project"]]
    every = world.client.get("/api/projects", headers=world.admin).json()["items"]
    assert {world.ids["project"], world.ids["other_project"]} <= {p["id"] for p in every}


def test_a_bound_principal_must_name_its_project(world: World) -> None:
    answer = world.client.post("/v1/runs", json=RUN, headers=world.owner)
    assert answer.status_code == 422, answer.text
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/options/project_id"]


def test_a_bound_admin_cannot_create_projects(world: World) -> None:
    answer = world.client.post("/api/projects", json={"name": "gamma"}, headers=world.intruder)
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:qers:problem:forbidden"


def test_idempotency_keys_of_two_principals_never_meet(world: World) -> None:
    key = {"Idempotency-Key": "same-key-for-both"}
    mine = _fill(_a(task="drop it"), world.ids)
    first = world.client.post("/api/ai/plan", json=mine, headers={**world.owner, **key})
    assert first.status_code == 201
    theirs = {"task": "drop it", "project_id": world.ids["other_project"]}
    second = world.client.post("/api/ai/plan", json=theirs, headers={**world.intruder, **key})
    assert second.status_code == 201, second.text  # not A's plan, not "key reused"
    assert second.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in second.headers


def _contract() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings(runs_dir=Path("/nonexistent"))).openapi()
    return document


def _properties(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> set[str]:
    if depth > 4:
        return set()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _properties(components[name], components, depth + 1)
    names: set[str] = set()
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            names |= _properties(part, components, depth + 1)
    for name, sub in schema.get("properties", {}).items():
        names.add(name)
        names |= _properties(sub, components, depth + 1)
    return names


def test_the_table_covers_every_operation_that_names_an_object() -> None:
    document = _contract()
    components = document["components"]["schemas"]
    referencing: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] != "header"}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                names |= _properties(media.get("schema", {}), components)
            if operation["operationId"].startswith("list"):
                continue  # lists are filtered, tested above
            if names & REFERENCING or any(name.endswith("_id") for name in names):
                referencing.add(operation["operationId"])
    assert referencing == set(CASES)
