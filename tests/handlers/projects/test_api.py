"""`/api/projects` end to end through the app, with real runs, sim jobs and batches in them."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.queue.client import RunQueue
from handlers.settings import Settings
from tests.redisutil import DB_PROJECTS, flush, redis_url

STEPS = 20
RUN = {"scenario": "drop_test", "options": {"steps": STEPS, "seed": 1}}
SIM = {"scenario": "drop_test", "steps": STEPS}
BATCH = {"scenario": "drop_test", "profiles": ["default"], "steps": STEPS, "seed": 3}
MISSING = "prj_0123456789abcdef01234567"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


def _client(runs_dir: Path) -> TestClient:
    settings = Settings(runs_dir=runs_dir, redis_url=None)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(runs_dir: Path) -> TestClient:
    return _client(runs_dir)


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _create(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/projects", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/api/projects/{project['id']}"
    return project


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _get(client: TestClient, project_id: str) -> dict[str, Any]:
    response = client.get(f"/api/projects/{project_id}")
    assert response.status_code == 200, response.text
    project: dict[str, Any] = response.json()
    return project


def _patch(client: TestClient, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(f"/api/projects/{project_id}", json=body)
    assert response.status_code == 200, response.text
    project: dict[str, Any] = response.json()
    return project


def _run_ids(client: TestClient, path: str, project_id: str) -> list[str]:
    response = client.get(path, params={"project_id": project_id, "limit": 1000})
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["items"]]


def test_create_answers_201_and_the_project_reads_back_with_counts(client: TestClient) -> None:
    name = _unique("Warehouse picker")
    body = {"description": "Slippery floors.", "tags": ["logistics"]}
    project = _create(client, f"  {name}\u2003", **body)
    assert (project["name"], project["archived"], project["counts"]) == (name, False, None)
    assert project["updated_at"] == project["created_at"]
    assert _get(client, project["id"]) == {
        **project,
        "counts": {"assets": 0, "runs": 0, "batches": 0},
    }


def test_a_duplicate_name_is_a_409_naming_the_existing_project(client: TestClient) -> None:
    name = _unique("Duplicate")
    first = _create(client, name)
    for variant in (name, name.upper(), f"  {name.lower()} ", f"\u00a0{name.swapcase()}"):
        problem = _problem(client.post("/api/projects", json={"name": variant}), 409)
        assert problem["type"] == "urn:qers:problem:conflict"
        assert first["id"] in problem["detail"]
    problem = _problem(client.post("/api/projects", json={"name": "   "}), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/name"]


def test_concurrent_creates_in_threads_give_exactly_one_201(client: TestClient) -> None:
    # Without `with`, each TestClient request runs in its own event loop thread.
    name = _unique("Threaded")
    barrier = threading.Barrier(8)
    statuses: Queue[int] = Queue()

    def create() -> None:
        barrier.wait()
        statuses.put(client.post("/api/projects", json={"name": name}).status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.get() for _ in threads) == [201] + [409] * 7


def test_concurrent_creates_in_two_servers_give_exactly_one_201(tmp_path: Path) -> None:
    # Two API processes on one RUNS_DIR, as behind a load balancer.
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    statuses = context.Queue()
    servers = [
        context.Process(target=_create_in_process, args=(tmp_path, barrier, statuses))
        for _ in range(3)
    ]
    for server in servers:
        server.start()
    results = sorted(statuses.get(timeout=120) for _ in servers)
    for server in servers:
        server.join(timeout=60)
    assert results == [201, 409, 409]
    listed = _client(tmp_path).get("/api/projects").json()["items"]
    assert [project["name"] for project in listed] == ["Raced"]


def _create_in_process(runs_dir: Path, barrier: Barrier, statuses: Queue[int]) -> None:
    client = _client(runs_dir)
    barrier.wait()
    statuses.put(client.post("/api/projects", json={"name": "Raced"}).status_code)


def test_listing_filters_by_tag_hides_archived_ones_and_pages(client: TestClient) -> None:
    tag = f"page-{uuid.uuid4().hex[:8]}"
    ids = [_create(client, _unique("Paged"), tags=[tag])["id"] for _ in range(5)]
    _patch(client, ids[1], {"archived": True})
    open_ids = [ids[4], ids[3], ids[2], ids[0]]
    assert _walk(client, tag=tag, limit=3) == open_ids
    assert _walk(client, tag=tag, limit=2, include_archived=True) == ids[::-1]
    page = client.get("/api/projects", params={"tag": tag, "limit": 2}).json()
    assert [item["counts"] for item in page["items"]] == [None, None]
    other = {"tag": tag, "include_archived": True, "cursor": page["next_cursor"]}
    problem = _problem(client.get("/api/projects", params=other), 422)
    assert problem["errors"][0]["pointer"] == "/cursor"
    unused = client.get("/api/projects", params={"tag": "no-such-tag"}).json()
    assert unused == {"items": [], "next_cursor": None}


def _walk(client: TestClient, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/projects", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params["limit"]
        seen += [project["id"] for project in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_runs_sim_jobs_and_batches_record_their_project_and_count(client: TestClient) -> None:
    project_id = _create(client, _unique("Counted"))["id"]
    other_id = _create(client, _unique("Other"))["id"]
    run = client.post(
        "/v1/runs", json={**RUN, "options": {**RUN["options"], "project_id": project_id}}
    )
    assert run.status_code == 201, run.text
    assert run.json()["project_id"] == project_id
    job = client.post("/api/sim/run", json={**SIM, "project_id": project_id})
    assert job.status_code == 200, job.text
    batch = client.post("/api/sim/batch", json={**BATCH, "project_id": project_id})
    assert batch.status_code == 201, batch.text
    report = batch.json()
    assert report["project_id"] == project_id
    [child] = report["children"]
    assert client.get(f"/v1/runs/{child['run_id']}").json()["project_id"] == project_id
    assert _get(client, project_id)["counts"] == {"assets": 0, "runs": 3, "batches": 1}
    expected = {run.json()["id"], job.json()["run_id"], child["run_id"]}
    for path in ("/v1/runs", "/api/runs"):
        assert set(_run_ids(client, path, project_id)) == expected
        assert _run_ids(client, path, other_id) == []
    assert _get(client, other_id)["counts"] == {"assets": 0, "runs": 0, "batches": 0}


def test_an_archived_project_takes_no_new_work_and_keeps_what_it_has(
    client: TestClient, runs_dir: Path
) -> None:
    project_id = _create(client, _unique("Archived"))["id"]
    options = {**RUN["options"], "project_id": project_id}
    kept = client.post("/v1/runs", json={**RUN, "options": options}).json()
    archived = _patch(client, project_id, {"archived": True})
    assert archived["archived"] is True
    assert archived["counts"] == {"assets": 0, "runs": 1, "batches": 0}
    batches_before = sorted((runs_dir / ".batches").glob("*.json"))
    refused = [
        client.post("/v1/runs", json={**RUN, "options": options}),
        client.post("/api/sim/run", json={**SIM, "project_id": project_id}),
        client.post("/api/sim/batch", json={**BATCH, "project_id": project_id}),
    ]
    for response in refused:
        problem = _problem(response, 409)
        assert problem["type"] == "urn:qers:problem:conflict"
        assert f"PATCH /api/projects/{project_id}" in problem["detail"]
        assert '{"archived": false}' in problem["detail"]
    assert sorted((runs_dir / ".batches").glob("*.json")) == batches_before
    assert _run_ids(client, "/v1/runs", project_id) == [kept["id"]]
    assert client.get(f"/v1/runs/{kept['id']}").json() == kept
    assert _get(client, project_id)["counts"]["runs"] == 1

    assert _patch(client, project_id, {"archived": False})["archived"] is False
    again = client.post("/v1/runs", json={**RUN, "options": options})
    assert again.status_code == 201, again.text
    assert _get(client, project_id)["counts"]["runs"] == 2


def test_unknown_projects_are_404_everywhere(client: TestClient) -> None:
    _problem(client.get(f"/api/projects/{MISSING}"), 404)
    _problem(client.patch(f"/api/projects/{MISSING}", json={"archived": True}), 404)
    options = {**RUN["options"], "project_id": MISSING}
    for response in (
        client.post("/v1/runs", json={**RUN, "options": options}),
        client.post("/api/sim/run", json={**SIM, "project_id": MISSING}),
        client.post("/api/sim/batch", json={**BATCH, "project_id": MISSING}),
    ):
        problem = _problem(response, 404)
        assert MISSING in problem["detail"]
        assert problem["errors"] == []
    assert _run_ids(client, "/api/runs", MISSING) == []


def test_patch_renames_changes_updated_at_only_on_a_real_change(client: TestClient) -> None:
    taken = _create(client, _unique("Taken"))
    project = _create(client, _unique("Renamed"), tags=["a"])
    unchanged = _patch(client, project["id"], {})
    assert unchanged["updated_at"] == project["updated_at"]
    same = _patch(client, project["id"], {"name": f" {project['name']} ", "archived": False})
    assert same["updated_at"] == project["updated_at"]
    problem = _problem(
        client.patch(f"/api/projects/{project['id']}", json={"name": taken["name"].upper()}), 409
    )
    assert taken["id"] in problem["detail"]
    new_name = _unique("New name")
    changed = _patch(client, project["id"], {"name": new_name, "tags": ["b"], "description": "d"})
    assert (changed["name"], changed["tags"], changed["description"]) == (new_name, ["b"], "d")
    assert changed["updated_at"] > project["updated_at"]
    assert changed["created_at"] == project["created_at"]
    assert changed["counts"] == {"assets": 0, "runs": 0, "batches": 0}
    _create(client, project["name"])  # the old name is free again


def test_projects_and_counts_survive_a_restart(tmp_path: Path) -> None:
    first = _client(tmp_path)
    project = _create(first, "Persistent", tags=["kept"])
    run = first.post(
        "/v1/runs", json={**RUN, "options": {**RUN["options"], "project_id": project["id"]}}
    )
    assert run.status_code == 201, run.text
    _patch(first, project["id"], {"description": "Still here."})
    before = _get(first, project["id"])
    restarted = _client(tmp_path)
    assert _get(restarted, project["id"]) == before
    assert before["counts"]["runs"] == 1
    listed = restarted.get("/api/projects", params={"tag": "kept"}).json()["items"]
    assert [p["id"] for p in listed] == [project["id"]]
    _problem(restarted.post("/api/projects", json={"name": "PERSISTENT"}), 409)


def test_an_idempotency_key_replays_the_creation(client: TestClient) -> None:
    headers = {"Idempotency-Key": f"project-{uuid.uuid4().hex}"}
    body = {"name": _unique("Idempotent"), "tags": ["idem"]}
    first = client.post("/api/projects", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/projects", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = client.post("/api/projects", json={**body, "tags": []}, headers=headers)
    assert _problem(other, 422)["type"] == "urn:qers:problem:idempotency-key-reused"
    # Without the key the same body is a second create: 409, as the name is taken.
    _problem(client.post("/api/projects", json=body), 409)


def test_queued_mode_checks_the_project_before_anything_is_enqueued(tmp_path: Path) -> None:
    url = redis_url(DB_PROJECTS)
    flush(url)
    try:
        settings = Settings(runs_dir=tmp_path, redis_url=url)
        app = create_app(settings)
        client = TestClient(app, raise_server_exceptions=False)
        queue: RunQueue = app.state.run_service.queue
        project_id = _create(client, "Queued")["id"]
        options = {**RUN["options"], "project_id": project_id}
        run = client.post("/v1/runs", json={**RUN, "options": options})
        assert run.status_code == 202, run.text
        assert (run.json()["status"], run.json()["project_id"]) == ("QUEUED", project_id)
        batch = client.post("/api/sim/batch", json={**BATCH, "project_id": project_id})
        assert batch.status_code == 202, batch.text
        assert queue.queue.count == 2
        _patch(client, project_id, {"archived": True})
        for response in (
            client.post("/v1/runs", json={**RUN, "options": options}),
            client.post("/api/sim/run", json={**SIM, "project_id": project_id}),
            client.post("/api/sim/batch", json={**BATCH, "project_id": project_id}),
        ):
            _problem(response, 409)
        assert queue.queue.count == 2
        assert _get(client, project_id)["counts"] == {"assets": 0, "runs": 2, "batches": 1}
    finally:
        flush(url)
