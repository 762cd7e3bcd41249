"""The project store: unique names under real concurrency, updates, paging, persistence."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue

import pytest

from handlers.errors import ConflictError, NotFoundError, ServiceUnavailable
from handlers.kit.cursor import Position
from handlers.projects.store import (
    PROJECT_ID_PATTERN,
    PROJECTS_FILE,
    Changes,
    ProjectStore,
    name_key,
)


def _create(store: ProjectStore, name: str, *tags: str) -> str:
    project_id: str = store.create(name=name, description="", tags=list(tags))["id"]
    return project_id


def test_a_created_project_reads_back_with_null_counts(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path)
    created = store.create(name="Picker", description="On ice.", tags=["a", "b"])
    assert PROJECT_ID_PATTERN.fullmatch(created["id"])
    assert len(created["id"]) == len("prj_") + 24
    assert created == {
        "id": created["id"],
        "name": "Picker",
        "description": "On ice.",
        "tags": ["a", "b"],
        "archived": False,
        "created_at": created["created_at"],
        "updated_at": created["created_at"],
        "counts": None,
    }
    assert store.get(created["id"]) == created
    assert (tmp_path / PROJECTS_FILE).is_file()


@pytest.mark.parametrize(
    ("first", "second"),
    [("Picker", "picker"), ("Picker", "PICKER"), ("Straße", "STRASSE"), ("ǅemal", "ǆemal")],
)
def test_names_are_unique_case_folded(tmp_path: Path, first: str, second: str) -> None:
    store = ProjectStore(tmp_path)
    winner = _create(store, first)
    with pytest.raises(ConflictError, match=winner):
        _create(store, second)
    assert name_key(f"  {second}\t") == name_key(first)


def test_unknown_project_is_not_found(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path)
    with pytest.raises(NotFoundError, match="prj_missing"):
        store.get("prj_missing")
    with pytest.raises(NotFoundError):
        store.update("prj_missing", Changes(archived=True))


def test_exactly_one_of_sixteen_threads_creates_a_name(tmp_path: Path) -> None:
    # One store per thread, as separate processes would have; each call is its own
    # connection, so only SQLite's write lock and the UNIQUE constraint decide.
    barrier = threading.Barrier(16)
    outcomes: Queue[str] = Queue()

    def race(index: int) -> None:
        store = ProjectStore(tmp_path)
        barrier.wait()
        outcomes.put(_attempt(store, f"  Same name{' ' * index}"))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = sorted(outcomes.get() for _ in threads)
    assert results[:-1] == ["conflict"] * 15
    assert results[-1].startswith("prj_")
    assert [p["id"] for _, p in ProjectStore(tmp_path).page(**_ALL)] == [results[-1]]


def test_exactly_one_of_four_processes_creates_a_name(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    outcomes = context.Queue()
    processes = [
        context.Process(target=_race_in_process, args=(tmp_path, barrier, outcomes))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    results = sorted(outcomes.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert results[:-1] == ["conflict"] * 3
    assert [p["id"] for _, p in ProjectStore(tmp_path).page(**_ALL)] == [results[-1]]


def _race_in_process(runs_dir: Path, barrier: Barrier, outcomes: Queue[str]) -> None:
    store = ProjectStore(runs_dir)
    barrier.wait()
    outcomes.put(_attempt(store, "Raced"))


def _attempt(store: ProjectStore, name: str) -> str:
    try:
        return _create(store, name.strip())
    except ConflictError:
        return "conflict"


_ALL = {"tag": None, "include_archived": True, "after": None, "limit": 1000}


def test_an_update_changes_only_what_it_names(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path)
    project_id = _create(store, "Picker", "a")
    before = store.get(project_id)
    assert store.update(project_id, Changes()) == before
    assert store.update(project_id, Changes(name="Picker", archived=False)) == before
    after = store.update(project_id, Changes(description="New.", tags=("b", "c")))
    assert after["updated_at"] > before["updated_at"]
    assert (after["name"], after["description"], after["tags"]) == ("Picker", "New.", ["b", "c"])
    assert after["created_at"] == before["created_at"]
    assert _ids(store, tag="a") == []
    assert _ids(store, tag="c") == [project_id]


def test_a_rename_to_a_taken_name_is_refused_but_a_change_of_case_is_not(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path)
    first = _create(store, "First")
    second = _create(store, "Second")
    with pytest.raises(ConflictError, match=first):
        store.update(second, Changes(name="first"))
    assert store.get(second)["name"] == "Second"
    assert store.update(second, Changes(name="SECOND"))["name"] == "SECOND"
    assert store.update(first, Changes(name="Renamed"))["name"] == "Renamed"
    assert _create(store, "first").startswith("prj_")  # the old name is free again


def test_pages_are_newest_first_and_hide_archived_unless_asked(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path)
    ids = [_create(store, f"P{i}", "even" if i % 2 == 0 else "odd") for i in range(5)]
    store.update(ids[2], Changes(archived=True))
    assert _ids(store) == [ids[4], ids[3], ids[1], ids[0]]
    assert _ids(store, include_archived=True) == ids[::-1]
    assert _ids(store, tag="even") == [ids[4], ids[0]]
    assert _ids(store, tag="even", include_archived=True) == [ids[4], ids[2], ids[0]]
    first = store.page(tag=None, include_archived=True, after=None, limit=2)
    rest = store.page(tag=None, include_archived=True, after=first[-1][0], limit=10)
    assert [p["id"] for _, p in first + rest] == ids[::-1]
    assert store.page(tag=None, include_archived=True, after=Position(1, "prj_x"), limit=1) == []


def _ids(
    store: ProjectStore, *, tag: str | None = None, include_archived: bool = False
) -> list[str]:
    rows = store.page(tag=tag, include_archived=include_archived, after=None, limit=100)
    return [project["id"] for _, project in rows]


def test_projects_outlive_the_store_object(tmp_path: Path) -> None:
    project_id = _create(ProjectStore(tmp_path), "Kept", "x")
    ProjectStore(tmp_path).update(project_id, Changes(archived=True))
    again = ProjectStore(tmp_path).get(project_id)
    assert (again["name"], again["tags"], again["archived"]) == ("Kept", ["x"], True)


def test_an_unreadable_file_is_an_error_and_is_kept(tmp_path: Path) -> None:
    # Unlike the run index (a cache) and the idempotency keys, projects cannot be rebuilt.
    path = tmp_path / PROJECTS_FILE
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        ProjectStore(tmp_path).get("prj_0")
    assert path.read_bytes() == b"not a database" * 100


def test_a_locked_file_is_service_unavailable(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path, busy_timeout_s=0.05)
    project_id = _create(store, "Busy")
    holder = sqlite3.connect(tmp_path / PROJECTS_FILE, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(ServiceUnavailable):
            _create(store, "Other")
        assert store.get(project_id)["name"] == "Busy"  # WAL: reads do not wait
    finally:
        holder.close()
    assert _create(store, "Other").startswith("prj_")
