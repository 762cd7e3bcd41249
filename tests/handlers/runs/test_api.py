"""`/v1` runs end to end with the real engine: create, read, metrics, replay, report."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.errors import ServiceUnavailable
from handlers.isolation import forkserver
from handlers.runs.store import RunStore
from handlers.settings import Settings
from tests.handlers.queued import wait_for

STEPS = 60


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = Settings(runs_dir=tmp_path_factory.mktemp("runs"), redis_url=None)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def run(client: TestClient) -> dict[str, Any]:
    body = {"scenario": "drop_test", "options": {"steps": STEPS, "seed": 3, "tags": ["api"]}}
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    assert document["status"] == "SUCCEEDED"
    return document


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_created_run_has_every_artifact(client: TestClient, run: dict[str, Any]) -> None:
    assert run["artifacts"] == {"metrics": True, "replay": True, "report": True, "partial": False}
    assert client.get(f"/v1/runs/{run['id']}").json() == run


def test_metrics_with_and_without_history(client: TestClient, run: dict[str, Any]) -> None:
    plain = client.get(f"/v1/runs/{run['id']}/metrics").json()
    assert plain["history"] is None
    assert plain["steps"] == STEPS
    full = client.get(f"/v1/runs/{run['id']}/metrics", params={"history": True}).json()
    assert full["history"] is not None


@pytest.mark.parametrize(("stride", "rows"), [(1, STEPS), (10, STEPS // 10), (7, 9), (10000, 1)])
def test_replay_rows_follow_the_stride(
    client: TestClient, run: dict[str, Any], stride: int, rows: int
) -> None:
    response = client.get(f"/v1/runs/{run['id']}/replay", params={"stride": stride})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert (bundle["run_id"], bundle["stride"], bundle["rows"]) == (run["id"], stride, rows)
    columns = bundle["columns"]
    assert columns["step_index"] == list(range(0, STEPS, stride))
    assert all(len(values) == rows for values in columns.values())
    manifest = bundle["manifest"]
    assert manifest["steps_recorded"] == STEPS
    assert manifest["trajectory_sha256"] == run["trajectory_sha256"]


def test_replay_default_stride_is_one(client: TestClient, run: dict[str, Any]) -> None:
    bundle = client.get(f"/v1/runs/{run['id']}/replay").json()
    assert (bundle["stride"], bundle["rows"]) == (1, STEPS)


def test_report_is_written_when_the_run_finishes(client: TestClient, run: dict[str, Any]) -> None:
    response = client.get(f"/api/sim/report/{run['id']}")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["run_id"] == run["id"]
    assert report["run"] == run
    assert report["metrics"]["history"] is None
    assert report["metrics"]["steps"] == STEPS
    assert report["profile"]["name"] == "default"
    assert report["engine"]["engine"] == "pybullet"
    assert report["replay"]["steps_recorded"] == STEPS
    assert report["replay"]["size_bytes"] > 0
    assert report["replay"]["trajectory_sha256"] == run["trajectory_sha256"]
    assert report["warnings"] == []


def test_sim_step_of_a_v1_run(client: TestClient, run: dict[str, Any]) -> None:
    bundle = client.get(f"/v1/runs/{run['id']}/replay").json()
    for index in (0, STEPS - 1):
        response = client.get("/api/sim/step", params={"run_id": run["id"], "step_index": index})
        assert response.status_code == 200, response.text
        step = response.json()
        assert step["steps_recorded"] == STEPS
        assert step["joint_names"] == bundle["manifest"]["joint_names"]
        assert step["step"]["step_index"] == index
        assert step["step"]["t"] == bundle["columns"]["t"][index]
        assert step["step"]["joint_position"] == bundle["columns"]["joint_position"][index]


def test_sim_step_out_of_range_names_the_range(client: TestClient, run: dict[str, Any]) -> None:
    response = client.get("/api/sim/step", params={"run_id": run["id"], "step_index": STEPS})
    problem = _problem(response, 422)
    assert [(e["location"], e["pointer"]) for e in problem["errors"]] == [("query", "/step_index")]
    assert f"0..{STEPS - 1}" in problem["errors"][0]["reason"]


def test_run_without_replay_is_409_for_replay_and_step(client: TestClient) -> None:
    body = {"scenario": "drop_test", "options": {"steps": 50, "record_replay": False}}
    run = client.post("/v1/runs", json=body).json()
    assert run["artifacts"] == {"metrics": True, "replay": False, "report": True, "partial": False}
    problem = _problem(client.get(f"/v1/runs/{run['id']}/replay"), 409)
    assert "record_replay was false" in problem["detail"]
    _problem(client.get("/api/sim/step", params={"run_id": run["id"], "step_index": 0}), 409)
    report = client.get(f"/api/sim/report/{run['id']}").json()
    assert report["replay"] is None
    assert report["engine"]["engine"] == "pybullet"
    assert report["warnings"] == ["no replay was recorded (record_replay was false)"]


def test_unknown_run_is_404_everywhere(client: TestClient) -> None:
    missing = "run_000000000000000000000000"
    for path in (f"/v1/runs/{missing}/replay", f"/api/sim/report/{missing}"):
        _problem(client.get(path), 404)
    _problem(client.get("/api/sim/step", params={"run_id": missing, "step_index": 0}), 404)


def test_rejected_requests_store_nothing(client: TestClient) -> None:
    before = client.get("/api/runs", params={"limit": 1000}).json()["items"]
    bad = [
        {"scenario": "drop_test", "options": {"steps": 50, "profile": "nope"}},
        {"scenario": "drop_test", "options": {"webhook_url": "http://10.1.2.3/hook"}},
        {"scenario": "drop_test", "options": {"replay_of": "run_0123456789abcdef01234567"}},
        {"scenario": "drop_test", "options": {"project_id": "prj_0123456789abcdef01234567"}},
    ]
    responses = [client.post("/v1/runs", json=body) for body in bad]
    statuses = [r.status_code for r in responses]
    assert responses[1].json()["errors"][0]["pointer"] == "/options/webhook_url"
    assert "run_0123456789abcdef01234567" in responses[2].json()["detail"]
    assert statuses == [422, 422, 404, 404]
    assert client.get("/api/runs", params={"limit": 1000}).json()["items"] == before


def _npz_columns(response: Any, run_id: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{run_id}-replay.npz"'
    )
    with np.load(io.BytesIO(response.content), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"format": "npz"}, {}),
        ({}, {"Accept": "application/octet-stream"}),
        ({}, {"Accept": "application/json;q=0.5, application/octet-stream"}),
        ({"format": "npz", "stride": 10}, {"Accept": "application/json"}),
    ],
    ids=["format", "accept", "accept-prefers", "format-overrides-accept-and-stride"],
)
def test_replay_npz_has_the_json_columns(
    client: TestClient, run: dict[str, Any], params: dict[str, Any], headers: dict[str, str]
) -> None:
    url = f"/v1/runs/{run['id']}/replay"
    arrays = _npz_columns(client.get(url, params=params, headers=headers), run["id"])
    columns = client.get(url, params={"stride": 1}).json()["columns"]
    assert set(arrays) == set(columns) - {"step_index"}
    for name, values in arrays.items():
        assert len(values) == STEPS, name
        np.testing.assert_array_equal(values, np.asarray(columns[name], dtype=np.float32))


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {}),
        ({}, {"Accept": "*/*"}),
        ({}, {"Accept": "application/octet-stream;q=0.5, application/json"}),
        ({"format": "json"}, {"Accept": "application/octet-stream"}),
    ],
    ids=["no-accept", "any", "accept-prefers-json", "format-overrides-accept"],
)
def test_replay_json_unless_npz_is_asked_for(
    client: TestClient, run: dict[str, Any], params: dict[str, Any], headers: dict[str, str]
) -> None:
    response = client.get(f"/v1/runs/{run['id']}/replay", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["rows"] == STEPS


def test_replay_accept_allowing_neither_is_406(client: TestClient, run: dict[str, Any]) -> None:
    response = client.get(f"/v1/runs/{run['id']}/replay", headers={"Accept": "text/csv"})
    problem = _problem(response, 406)
    assert (problem["type"], problem["title"]) == (
        "urn:qers:problem:not-acceptable",
        "Not acceptable",
    )
    assert "application/octet-stream" in problem["detail"]


@pytest.mark.parametrize(
    ("params", "headers"),
    [({}, {}), ({"format": "npz"}, {}), ({}, {"Accept": "application/octet-stream"})],
    ids=["json", "format-npz", "accept-npz"],
)
def test_run_without_replay_is_409_in_every_format(
    client: TestClient, params: dict[str, Any], headers: dict[str, str]
) -> None:
    body = {"scenario": "drop_test", "options": {"steps": 20, "record_replay": False}}
    run = client.post("/v1/runs", json=body).json()
    response = client.get(f"/v1/runs/{run['id']}/replay", params=params, headers=headers)
    assert "record_replay was false" in _problem(response, 409)["detail"]


def test_replay_of_reruns_the_recorded_inputs_and_matches(
    client: TestClient, run: dict[str, Any]
) -> None:
    body = {"scenario": "drop_test", "options": {"replay_of": run["id"], "tags": ["replay"]}}
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 201, response.text
    replay = response.json()
    assert replay["replay_of"] == run["id"]
    assert replay["replay_match"] is True
    assert replay["trajectory_sha256"] == run["trajectory_sha256"]
    assert (replay["config"]["seed"], replay["config"]["steps"]) == (3, STEPS)


def test_replay_of_refuses_other_inputs_and_unknown_runs(
    client: TestClient, run: dict[str, Any]
) -> None:
    other_seed = {"scenario": "drop_test", "options": {"replay_of": run["id"], "seed": 4}}
    problem = _problem(client.post("/v1/runs", json=other_seed), 422)
    assert problem["errors"][0]["pointer"] == "/options/seed"
    same_seed = {"scenario": "drop_test", "options": {"replay_of": run["id"], "seed": 3}}
    assert client.post("/v1/runs", json=same_seed).status_code == 201
    other_scenario = {"scenario": "push_slide", "options": {"replay_of": run["id"]}}
    problem = _problem(client.post("/v1/runs", json=other_scenario), 422)
    assert problem["errors"][0]["pointer"] == "/scenario"
    missing = {"scenario": "drop_test", "options": {"replay_of": "run_000000000000000000000000"}}
    _problem(client.post("/v1/runs", json=missing), 404)
    unrecorded = client.post(
        "/v1/runs", json={"scenario": "drop_test", "options": {"record_replay": False}}
    ).json()
    replay = {"scenario": "drop_test", "options": {"replay_of": unrecorded["id"]}}
    _problem(client.post("/v1/runs", json=replay), 409)


def test_a_running_embedded_run_shows_progress_and_can_be_cancelled(client: TestClient) -> None:
    body = {"scenario": "drop_test", "options": {"steps": 1_000_000, "tags": ["long"]}}
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(client.post, "/v1/runs", json=body)

        def running() -> dict[str, Any] | None:
            items = client.get("/v1/runs", params={"tag": "long", "status": "RUNNING"}).json()
            found = items["items"]
            return found[0] if found and found[0]["progress"]["steps_done"] > 0 else None

        run = wait_for(running, timeout_s=60, what="a RUNNING run with progress")
        cancelled = client.post(f"/v1/runs/{run['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        created = pending.result(timeout=30)
    assert created.status_code == 201, created.text
    final = created.json()
    assert final["status"] == "CANCELLED"
    assert final["failure_code"] is None
    assert 0 < final["progress"]["steps_done"] < 1_000_000
    assert client.get(f"/v1/runs/{run['id']}").json() == final


def _simulation_children(server: int) -> list[int]:
    """Processes the fork server started (simulation children), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[1]) == server:
            found.append(int(entry.name))
    return found


def test_a_run_the_store_refuses_stops_its_child_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run the store refuses leaves no child running on for nobody, and no run.
    settings = Settings(runs_dir=tmp_path / "runs", redis_url=None, warm_spares=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as refusing:
        server = forkserver.server_pid()
        assert server is not None
        others = set(_simulation_children(server))  # e.g. another app's warm spare

        def refuse(self: RunStore, run: Any, files: Any, **_: Any) -> None:
            raise ServiceUnavailable("Run storage is unavailable: no space left on device.")

        monkeypatch.setattr(RunStore, "create", refuse)
        body = {"scenario": "drop_test", "options": {"steps": 200_000, "max_duration_s": 60}}
        started = time.monotonic()
        _problem(refusing.post("/v1/runs", json=body), 503)
        # Not a speed target: the whole run takes ~35 s here; the answer must not wait for it.
        assert time.monotonic() - started < 15
        deadline = time.monotonic() + 5
        while set(_simulation_children(server)) - others and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(_simulation_children(server)) - others == set()
        monkeypatch.undo()
        assert refusing.get("/v1/runs").json()["items"] == []


def test_a_run_answers_once_its_whole_folder_is_durable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The RUNNING record is written without fsync and made durable on a thread while the
    # child runs (its files, the folder, then its entry in the runs folder, never before
    # the run.json it points at); the final write makes every file of the folder (fsynced
    # under its temporary name, then renamed: `.tmp-<name>-<hex>`) and the folder durable.
    # All of it before the answer.
    import os
    import re

    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append(re.sub(r"/\.tmp-(.+)-[0-9a-f]{12}$", r"/\1", path))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    settle = RunStore.settle

    settled: list[str] = []

    def slow_settle(store: RunStore, run_id: str, created: Iterable[str]) -> None:
        time.sleep(0.8)  # still at it when the child is done: the answer must wait
        settle(store, run_id, created)
        settled.append(run_id)

    monkeypatch.setattr(RunStore, "settle", slow_settle)
    # One event loop for the whole block: a request alone gets its own, whose shutdown
    # waits for every thread it started, the settle's too, whether the answer did or not.
    with TestClient(client.app) as serving:
        made = serving.post("/v1/runs", json={"scenario": "drop_test", "options": {"steps": 20}})
        answered = list(synced)  # what was fsynced before the answer
        assert settled == [made.json()["id"]]  # before the loop, and its threads, end
    assert made.status_code == 201
    monkeypatch.setattr(os, "fsync", real)
    run_id = made.json()["id"]
    runs_dir = client.app.state.settings.runs_dir  # type: ignore[attr-defined]
    folder = Path(runs_dir) / run_id
    expected = {str(folder / name) for name in os.listdir(folder)} | {str(folder), str(runs_dir)}
    assert expected <= set(answered)
    entry = answered.index(str(runs_dir))  # the folder's entry in the runs folder
    assert answered.index(str(folder / "run.json")) < answered.index(str(folder)) < entry
    assert str(folder / "owner.json") in answered[:entry]
