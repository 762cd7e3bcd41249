"""RunStore: whole-run creation, updates, artifacts, listing with filters and cursors."""

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from generated.models.Run_schema import Run
from handlers.errors import NotFoundError, ValidationFailed
from handlers.kit import atomic
from handlers.kit.atomic import TMP_PREFIX
from handlers.runs.cursor import RunFilters
from handlers.runs.index import RunDocumentError, created_us
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import START, make_run, random_run, seeded

RunDoc = dict[str, Any]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs") as opened:
        yield opened


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunStore, list[RunDoc]]]:
    rng = seeded(3)
    runs = [random_run(rng, index=i // 3) for i in range(300)]  # threes share created_at
    for i, run in enumerate(runs[:40]):
        run["batch_id"] = "bat_7e3a9d1c5b2f4e8a90c6d4b1" if i % 2 else None
    with RunStore(tmp_path_factory.mktemp("populated") / "runs") as opened:
        for run in runs:
            opened.create(run)
        yield opened, runs


def newest_first(runs: list[RunDoc], keep: Callable[[RunDoc], bool]) -> list[str]:
    chosen = [run for run in runs if keep(run)]
    chosen.sort(key=lambda run: (created_us(run["created_at"]), run["id"]), reverse=True)
    return [run["id"] for run in chosen]


def walk(store: RunStore, *, limit: int, **filters: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        items, cursor = store.list(limit=limit, cursor=cursor, **filters)
        assert items or not ids, "a cursor led to an empty page"
        ids += [item["id"] for item in items]
        if cursor is None:
            return ids


def test_created_run_reads_back_and_fits_the_contract(store: RunStore) -> None:
    run = make_run(tags=["nightly"])
    store.create(run, {"metrics.json": b'{"steps": 240}', "replay.npz": b"\x93NUMPY"})
    assert store.get(run["id"]) == run
    Run.model_validate(store.get(run["id"]))
    assert store.read_file(run["id"], "metrics.json") == b'{"steps": 240}'
    assert store.read_file(run["id"], "replay.npz") == b"\x93NUMPY"
    assert store.list() == ([run], None)


def test_create_is_all_or_nothing(store: RunStore) -> None:
    run = make_run()
    with pytest.raises(ValueError, match="artifact file name"):
        store.create(run, {"metrics.json": b"{}", "../escape.json": b"{}"})
    with pytest.raises(RunDocumentError, match="status"):
        store.create({**run, "status": None})
    assert sorted(os.listdir(store.runs_dir)) == [".index.sqlite3", *_sqlite_sidecars(store)]
    assert not (store.runs_dir.parent / "escape.json").exists()
    assert store.list() == ([], None)


def _sqlite_sidecars(store: RunStore) -> list[str]:
    return sorted(n for n in os.listdir(store.runs_dir) if n.startswith(".index.sqlite3-"))


def test_create_refuses_an_existing_id(store: RunStore) -> None:
    run = make_run()
    store.create(run)
    with pytest.raises(FileExistsError):
        store.create({**run, "status": "FAILED"})
    assert store.get(run["id"])["status"] == "SUCCEEDED"


def test_status_transitions_show_in_detail_and_listing(store: RunStore) -> None:
    run = make_run(status="CREATED")
    store.create(run)
    for status in ("QUEUED", "RUNNING", "SUCCEEDED"):
        run = {**run, "status": status}
        store.update(run["id"], run)
        assert store.get(run["id"])["status"] == status
        assert [item["id"] for item in store.list(status=status)[0]] == [run["id"]]
        assert store.list(status="CREATED") == ([], None)
    assert store.indexed_statuses() == {run["id"]: "SUCCEEDED"}


def test_update_needs_an_existing_run_and_the_same_id(store: RunStore) -> None:
    run = make_run()
    with pytest.raises(NotFoundError):
        store.update(run["id"], run)
    store.create(run)
    with pytest.raises(RunDocumentError, match="id"):
        store.update(run["id"], {**run, "id": "run_other"})


def test_put_file_replaces_an_artifact(store: RunStore) -> None:
    run = make_run()
    store.create(run, {"report.json": b"v1"})
    store.put_file(run["id"], "report.json", b"v2")
    store.put_file(run["id"], "metrics.json", b"{}")
    assert store.read_file(run["id"], "report.json") == b"v2"
    assert store.read_file(run["id"], "metrics.json") == b"{}"
    with pytest.raises(ValueError, match="artifact file name"):
        store.put_file(run["id"], "run.json", b"{}")
    with pytest.raises(NotFoundError):
        store.put_file("run_missing", "report.json", b"{}")
    assert not [n for n in os.listdir(store.runs_dir / run["id"]) if n.startswith(TMP_PREFIX)]


def test_put_files_and_update_stores_the_artifacts_and_the_final_run(store: RunStore) -> None:
    run = make_run(status="RUNNING")
    store.create(run, {"report.json": b"v1"})
    finished = {**run, "status": "SUCCEEDED"}
    files = {"report.json": b"v2", "metrics.json": b"{}", "replay.npz": b"z"}
    store.put_files_and_update(run["id"], files, finished)
    assert store.get(run["id"]) == finished
    assert store.read_file(run["id"], "report.json") == b"v2"
    assert store.read_file(run["id"], "replay.npz") == b"z"
    assert [r["id"] for r in store.list(status="SUCCEEDED")[0]] == [run["id"]]
    with pytest.raises(RunDocumentError):
        store.put_files_and_update(run["id"], {}, {**finished, "id": "run_other"})
    with pytest.raises(ValueError, match="artifact file name"):
        store.put_files_and_update(run["id"], {"metrics.json": b"x", "run.json": b"{}"}, finished)
    assert store.read_file(run["id"], "metrics.json") == b"{}"  # nothing of a refused call
    with pytest.raises(NotFoundError):
        store.put_files_and_update("run_missing", {}, {**finished, "id": "run_missing"})
    assert not [n for n in os.listdir(store.runs_dir / run["id"]) if n.startswith(TMP_PREFIX)]


def test_a_batch_childs_writes_wait_for_one_group_commit(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting)
    # Counted file by file (the fallback of Linux's one syncfs: tests/handlers/kit/test_atomic).
    monkeypatch.setattr(atomic, "_syncfs_call", lambda: None)
    runs = [make_run(status="RUNNING") for _ in range(3)]
    for run in runs:
        store.create(run, {"owner.json": b"{}"}, durable=False)
        files = {"metrics.json": b"{}", "replay.npz": b"z"}
        store.put_files_and_update(run["id"], files, {**run, "status": "SUCCEEDED"}, durable=False)
    assert synced == []  # nothing waited for the disk yet
    assert [store.get(run["id"])["status"] for run in runs] == ["SUCCEEDED"] * 3
    store.make_durable([run["id"] for run in runs])
    # Each child's four files and its folder, then the runs folder.
    assert len(synced) == 3 * (4 + 1) + 1


def test_missing_run_or_artifact_is_not_found(store: RunStore) -> None:
    run = make_run()
    store.create(run)
    with pytest.raises(NotFoundError, match="run_nope"):
        store.get("run_nope")
    with pytest.raises(NotFoundError, match=r"replay\.npz"):
        store.read_file(run["id"], "replay.npz")


@pytest.mark.parametrize("bad_id", ["../decoy", "..", "run_x/../../decoy", "/etc", "decoy"])
def test_malformed_ids_never_reach_outside_runs_dir(store: RunStore, bad_id: str) -> None:
    decoy = store.runs_dir.parent / "decoy"
    decoy.mkdir(exist_ok=True)
    (decoy / "run.json").write_text(json.dumps(make_run(run_id="run_decoy")))
    (decoy / "report.json").write_text("secret")
    with pytest.raises(NotFoundError):
        store.get(bad_id)
    with pytest.raises(NotFoundError):
        store.read_file(bad_id, "report.json")
    with pytest.raises(NotFoundError):
        store.put_file(bad_id, "report.json", b"overwritten")
    with pytest.raises(NotFoundError):
        store.update(bad_id, {**make_run(), "id": bad_id})
    assert (decoy / "report.json").read_text() == "secret"


def test_artifact_names_cannot_escape_the_run_folder(store: RunStore) -> None:
    run = make_run()
    store.create(run)
    (store.runs_dir / "report.json").write_text("not this run's")
    for name in ("../report.json", "/etc/passwd", ".index.sqlite3", "../.index.sqlite3"):
        with pytest.raises(NotFoundError):
            store.read_file(run["id"], name)


FILTERS: list[dict[str, str]] = [
    {},
    {"status": "SUCCEEDED"},
    {"scenario": "arm_reach"},
    {"status": "SUCCEEDED", "scenario": "arm_reach"},
    {"tag": "nightly"},
    {"tag": "nightly", "status": "FAILED"},
    {"profile": "slippery_warehouse", "origin": "cli"},
    {"batch_id": "bat_7e3a9d1c5b2f4e8a90c6d4b1"},
    {"project_id": "prj_4b1d7c93e0a24f6b9d35c8e1"},
    {"project_id": "prj_0123456789abcdef01234567", "tag": "smoke"},
    {"status": "SUCCEEDED", "scenario": "no_such_scenario"},
]


def _matches(run: RunDoc, filters: dict[str, str]) -> bool:
    for name, value in filters.items():
        if name == "tag":
            if value not in run["tags"]:
                return False
        elif run[name] != value:
            return False
    return True


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all"
)
@pytest.mark.parametrize("limit", [1, 7, 50, 1000])
def test_pages_walk_every_match_once_newest_first(
    populated: tuple[RunStore, list[RunDoc]], filters: dict[str, str], limit: int
) -> None:
    store, runs = populated
    expected = newest_first(runs, lambda run: _matches(run, filters))
    assert walk(store, limit=limit, **filters) == expected


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all"
)
def test_count_agrees_with_the_listing(
    populated: tuple[RunStore, list[RunDoc]], filters: dict[str, str]
) -> None:
    store, runs = populated
    expected = newest_first(runs, lambda run: _matches(run, filters))
    assert store.count(RunFilters(**filters)) == len(expected)


def test_the_default_page_has_fifty_runs(populated: tuple[RunStore, list[RunDoc]]) -> None:
    store, runs = populated
    items, cursor = store.list()
    assert [item["id"] for item in items] == newest_first(runs, lambda run: True)[:50]
    assert cursor is not None


def test_runs_created_at_the_same_instant_are_ordered_by_id(store: RunStore) -> None:
    runs = [make_run(created_at=START) for _ in range(10)]
    # The same instant written two ways must still sort as one instant.
    runs[0]["created_at"] = "2026-01-15T10:00:00.000+00:00"
    for run in runs:
        store.create(run)
    expected = sorted((run["id"] for run in runs), reverse=True)
    assert walk(store, limit=3) == expected


def test_paging_is_stable_while_newer_runs_arrive(store: RunStore) -> None:
    rng = seeded(5)
    old = [random_run(rng, index=i) for i in range(60)]
    for run in old:
        store.create(run)
    expected = newest_first(old, lambda run: True)
    seen: list[str] = []
    items, cursor = store.list(limit=8)
    newer = 0
    while True:
        seen += [item["id"] for item in items]
        for _ in range(3):
            newer += 1
            store.create(make_run(created_at=START + timedelta(hours=1, seconds=newer)))
        if cursor is None:
            break
        items, cursor = store.list(limit=8, cursor=cursor)
    assert seen == expected


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "a" * 513,
        "=====",
        "bm90IGpzb24",  # "not json"
        _forge([1, "run_a", "x"]),
        _forge({"c": "1", "i": "run_a", "f": "x"}),
        _forge({"c": True, "i": "run_a", "f": "x"}),
        _forge({"c": 1, "i": "../etc", "f": "x"}),
        _forge({"c": 1, "i": "run_a", "f": "x", "extra": 1}),
        _forge({"c": 10**30, "i": "run_a", "f": "x"}),
    ],
)
def test_a_tampered_cursor_is_a_validation_problem(
    populated: tuple[RunStore, list[RunDoc]], cursor: str
) -> None:
    store, _ = populated
    with pytest.raises(ValidationFailed) as caught:
        store.list(cursor=cursor)
    assert caught.value.status == 422
    [error] = caught.value.errors
    assert (error["location"], error["pointer"]) == ("query", "/cursor")


def test_a_cursor_only_continues_the_same_filters(populated: tuple[RunStore, list[RunDoc]]) -> None:
    store, _ = populated
    _, cursor = store.list(status="SUCCEEDED", limit=2)
    assert cursor is not None
    store.list(status="SUCCEEDED", limit=5, cursor=cursor)  # another limit is fine
    with pytest.raises(ValidationFailed, match="1 field is invalid") as caught:
        store.list(status="FAILED", limit=2, cursor=cursor)
    assert "different filters" in caught.value.errors[0]["reason"]


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_is_bounded(populated: tuple[RunStore, list[RunDoc]], limit: int) -> None:
    store, _ = populated
    with pytest.raises(ValidationFailed) as caught:
        store.list(limit=limit)
    assert caught.value.errors[0]["pointer"] == "/limit"


def test_threads_can_create_and_list_at_once(store: RunStore) -> None:
    errors: list[BaseException] = []

    def create_some() -> None:
        try:
            for _ in range(20):
                store.create(make_run())
                store.list(limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(walk(store, limit=1000)) == 120
