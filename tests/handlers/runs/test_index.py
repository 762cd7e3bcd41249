"""The index follows the folders: rebuilt when missing or unreadable, synced when stale."""

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from handlers.errors import InternalError
from handlers.kit.cursor import Position
from handlers.runs.cursor import RunFilters
from handlers.runs.folders import RunFolders, encode_run
from handlers.runs.store import INDEX_FILE, RunStore, SyncReport
from tests.handlers.runs.store_docs import make_run

RUNS = 12


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    with RunStore(path) as store:
        for i in range(RUNS):
            store.create(make_run(status="SUCCEEDED" if i % 2 else "FAILED", tags=[f"t{i % 3}"]))
    return path


def listing(store: RunStore) -> list[str]:
    return [item["id"] for item in store.list(limit=1000)[0]]


def folder_ids(runs_dir: Path) -> list[str]:
    return sorted(p.name for p in runs_dir.iterdir() if p.name.startswith("run_"))


def test_a_deleted_index_is_rebuilt_from_the_folders(runs_dir: Path) -> None:
    with RunStore(runs_dir) as store:
        before = listing(store)
    for path in runs_dir.glob(INDEX_FILE + "*"):
        path.unlink()
    with RunStore(runs_dir) as store:
        assert store.opened_with == SyncReport(added=RUNS)
        assert listing(store) == before
        assert [i["id"] for i in store.list(tag="t1", status="SUCCEEDED")[0]]


@pytest.mark.parametrize("damage", [b"", b"this is not a database" * 100])
def test_an_unreadable_index_is_replaced(runs_dir: Path, damage: bytes) -> None:
    for path in runs_dir.glob(INDEX_FILE + "-*"):
        path.unlink()
    (runs_dir / INDEX_FILE).write_bytes(damage)
    with RunStore(runs_dir) as store:
        assert sorted(listing(store)) == folder_ids(runs_dir)


def test_an_index_of_another_schema_version_is_rebuilt(runs_dir: Path) -> None:
    db = sqlite3.connect(runs_dir / INDEX_FILE)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with RunStore(runs_dir) as store:
        assert store.opened_with == SyncReport(added=RUNS)


def test_an_index_from_before_project_id_is_rebuilt_with_it(tmp_path: Path) -> None:
    # Version 1 had no project_id column: opening it rebuilds the index from the folders.
    runs_dir = tmp_path / "runs"
    project = "prj_4b1d7c93e0a24f6b9d35c8e1"
    with RunStore(runs_dir) as store:
        inside = make_run(project_id=project)
        store.create(inside)
        store.create(make_run())
    db = sqlite3.connect(runs_dir / INDEX_FILE)
    db.execute("DROP INDEX runs_by_project")
    db.execute("ALTER TABLE runs DROP COLUMN project_id")
    db.execute("PRAGMA user_version = 1")
    db.close()
    with RunStore(runs_dir) as store:
        assert store.opened_with == SyncReport(added=2)
        assert [run["id"] for run in store.list(project_id=project)[0]] == [inside["id"]]
        assert store.count(RunFilters(project_id=project)) == 1


def test_folders_added_removed_or_rewritten_behind_its_back_are_noticed(runs_dir: Path) -> None:
    outsider = RunFolders(runs_dir)  # e.g. a worker on another host: folders only
    gone, changed = folder_ids(runs_dir)[:2]
    new = make_run(status="RUNNING")
    outsider.create(new["id"], {"run.json": encode_run(new)})
    shutil.rmtree(runs_dir / gone)
    with RunStore(runs_dir) as store:
        assert store.opened_with == SyncReport(added=1, removed=1)
        rewritten = {**store.get(changed), "status": "CANCELLED"}
        outsider.write_run(changed, encode_run(rewritten))
        assert store.sync() == SyncReport(updated=1)
        assert store.sync() == SyncReport()
        statuses = store.indexed_statuses()
        assert statuses[new["id"]] == "RUNNING"
        assert statuses[changed] == "CANCELLED"
        assert gone not in statuses
        assert sorted(statuses) == folder_ids(runs_dir)


def test_a_rewrite_of_the_same_size_is_still_noticed(runs_dir: Path) -> None:
    with RunStore(runs_dir) as store:
        run_id = next(i for i, s in store.indexed_statuses().items() if s == "SUCCEEDED")
        before = (runs_dir / run_id / "run.json").stat().st_size
        run = {**store.get(run_id), "status": "CANCELLED"}  # as long as SUCCEEDED
        RunFolders(runs_dir).write_run(run_id, encode_run(run))
        assert (runs_dir / run_id / "run.json").stat().st_size == before
        assert store.sync() == SyncReport(updated=1)
        assert store.indexed_statuses()[run_id] == "CANCELLED"


def test_a_folder_with_a_bad_run_json_is_left_out_but_reported(runs_dir: Path) -> None:
    victim = folder_ids(runs_dir)[0]
    (runs_dir / victim / "run.json").write_text("{ torn")
    (runs_dir / "run_empty").mkdir()
    (runs_dir / "notes.txt").write_text("not a run")
    with RunStore(runs_dir) as store:
        assert store.opened_with == SyncReport(removed=1, skipped=1)
        assert victim not in store.indexed_statuses()
        with pytest.raises(InternalError):
            store.get(victim)
        assert len(listing(store)) == RUNS - 1


def test_rebuild_index_starts_from_scratch(runs_dir: Path) -> None:
    with RunStore(runs_dir) as store:
        assert store.rebuild_index() == SyncReport(added=RUNS)
        assert sorted(listing(store)) == folder_ids(runs_dir)


def test_the_index_can_live_outside_runs_dir(tmp_path: Path, runs_dir: Path) -> None:
    index = tmp_path / "local" / "index.sqlite3"
    index.parent.mkdir()
    with RunStore(runs_dir, index_path=index) as store:
        assert store.opened_with == SyncReport(added=RUNS)
    assert index.exists()


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_old_leftovers_of_interrupted_writes_are_swept_at_start(runs_dir: Path) -> None:
    run_id = folder_ids(runs_dir)[0]
    old_run = runs_dir / f".tmp-{run_id}-abc123"
    old_run.mkdir()
    (old_run / "run.json").write_text(json.dumps(make_run()))
    _age(old_run, 120)
    young_run = runs_dir / ".tmp-run_young-def456"
    young_run.mkdir()
    old_file = runs_dir / run_id / ".tmp-run.json-0a1b2c"
    old_file.write_text("half")
    _age(old_file, 120)
    with RunStore(runs_dir, stale_temporary_s=60) as store:
        assert store.swept == 2
        assert not old_run.exists()
        assert not old_file.exists()
        assert young_run.exists(), "a young one may belong to a writer still at work"
        assert sorted(listing(store)) == folder_ids(runs_dir)


def test_a_sync_never_undoes_a_write_made_while_it_read(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RunStore(runs_dir) as store:
        run_id = folder_ids(runs_dir)[0]
        run = store.get(run_id)
        RunFolders(runs_dir).write_run(run_id, encode_run({**run, "status": "CANCELLED"}))
        read_run = store.folders.read_run

        def read_then_race(target: str) -> tuple[dict[str, object], object]:
            found = read_run(target)
            monkeypatch.setattr(store.folders, "read_run", read_run)
            store.update(run_id, {**run, "status": "FAILED"})  # lands after the read
            return found

        monkeypatch.setattr(store.folders, "read_run", read_then_race)
        store.sync()
        assert store.indexed_statuses()[run_id] == "FAILED"
        assert store.sync() == SyncReport()


@pytest.mark.parametrize(
    "filters",
    [
        RunFilters(),
        RunFilters(status="SUCCEEDED"),
        RunFilters(status="SUCCEEDED", scenario="arm_reach"),
        RunFilters(scenario="arm_reach", profile="default"),
        RunFilters(tag="nightly", status="FAILED"),
        RunFilters(batch_id="bat_7e3a9d1c5b2f4e8a90c6d4b1", origin="batch"),
        RunFilters(project_id="prj_4b1d7c93e0a24f6b9d35c8e1"),
        RunFilters(project_id="prj_4b1d7c93e0a24f6b9d35c8e1", status="SUCCEEDED"),
    ],
)
def test_pages_walk_an_index_in_order_without_sorting(runs_dir: Path, filters: RunFilters) -> None:
    # A sort step would make every page cost the whole match set, not `limit` rows.
    with RunStore(runs_dir) as store:
        for after in (None, Position(1, "run_a")):
            plan = " | ".join(store._index.explain(filters, after=after))
            assert "TEMP B-TREE" not in plan
            assert "SCAN" not in plan or "USING INDEX runs_by_created" in plan


def test_announced_changes_from_other_processes_are_indexed_cheaply(runs_dir: Path) -> None:
    worker = RunFolders(runs_dir, announce=True)  # a worker on another host
    with RunStore(runs_dir) as store:
        assert store.sync_changes() == SyncReport()
        new = make_run(status="QUEUED")
        worker.create(new["id"], {"run.json": encode_run(new)})
        worker.write_run(new["id"], encode_run({**new, "status": "RUNNING"}))
        (runs_dir / ".changes" / "not-a-run-id").touch()
        assert store.sync_changes() == SyncReport(added=1)
        assert store.indexed_statuses()[new["id"]] == "RUNNING"
        assert list((runs_dir / ".changes").iterdir()) == []

        shutil.rmtree(runs_dir / new["id"])
        (runs_dir / ".changes" / new["id"]).touch()
        assert store.sync_changes() == SyncReport(removed=1)
        assert new["id"] not in store.indexed_statuses()

        unannounced = make_run()
        RunFolders(runs_dir).create(unannounced["id"], {"run.json": encode_run(unannounced)})
        assert store.sync_changes() == SyncReport()
        assert store.sync() == SyncReport(added=1)
