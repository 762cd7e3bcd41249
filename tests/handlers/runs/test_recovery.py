"""Embedded runs of a dead API process are failed SERVER_LOST; every other run is left alone."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from handlers.kit.owner import ProcessOwner
from handlers.runs.recovery import OWNER_FILE, REASON, ServerLostRuns
from handlers.runs.store import RunStore
from tests.handlers.runs.store_docs import make_run

ME = ProcessOwner.current()
# This pid with another start time: the pid was recycled, the owner is gone.
DEAD = dataclasses.replace(ME, start_time=ME.start_time - 1)


class Recovery:
    """A ServerLostRuns over its own RunStore, counting the runs it announced."""

    def __init__(self, runs_dir: Path) -> None:
        self.store = RunStore(runs_dir)
        self.ended: list[str] = []
        self.runs = ServerLostRuns(lambda: self.store, ended=self._ended)

    def _ended(self, run: dict[str, Any]) -> dict[str, Any]:
        self.ended.append(run["id"])
        return run


@pytest.fixture
def recovery(tmp_path: Path) -> Recovery:
    return Recovery(tmp_path)


def _stored(
    store: RunStore, owner: ProcessOwner | None, *, status: str = "RUNNING"
) -> dict[str, Any]:
    run = make_run(status=status)
    run["progress"] = {"steps_done": 120, "steps_total": 240, "fraction": 0.5}
    files = {} if owner is None else {OWNER_FILE: json.dumps(owner.document()).encode()}
    store.create(run, files)
    return run


def test_a_run_of_a_dead_owner_is_failed_server_lost(recovery: Recovery) -> None:
    run = _stored(recovery.store, DEAD)
    assert recovery.runs.reconcile() == [run["id"]]
    failed = recovery.store.get(run["id"])
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "SERVER_LOST")
    assert failed["failure_reason"] == REASON
    assert failed["finished_at"] is not None
    assert failed["progress"]["steps_done"] == 120  # how far it got is kept
    report = json.loads(recovery.store.read_file(run["id"], "report.json"))
    assert report["run"]["failure_code"] == "SERVER_LOST"
    assert recovery.store.indexed_statuses()[run["id"]] == "FAILED"
    assert recovery.ended == [run["id"]]
    assert recovery.runs.reconcile() == []  # idempotent
    assert recovery.ended == [run["id"]]


@pytest.mark.parametrize("status", ["CREATED", "QUEUED"])
def test_an_unstarted_run_of_a_dead_owner_is_failed_too(recovery: Recovery, status: str) -> None:
    run = _stored(recovery.store, DEAD, status=status)
    assert recovery.runs.checked(run)["failure_code"] == "SERVER_LOST"


@pytest.mark.parametrize(
    ("owner", "status"),
    [
        (ME, "RUNNING"),  # alive: this process
        (dataclasses.replace(DEAD, host="another-host"), "RUNNING"),  # cannot be checked here
        (None, "RUNNING"),  # no owner: queued mode or an older release
        (DEAD, "SUCCEEDED"),  # already final
    ],
    ids=["alive", "other-host", "no-owner", "finished"],
)
def test_other_runs_are_left_alone(
    recovery: Recovery, owner: ProcessOwner | None, status: str
) -> None:
    run = _stored(recovery.store, owner, status=status)
    assert recovery.runs.reconcile() == []
    assert recovery.runs.checked(run) is run
    assert recovery.store.get(run["id"]) == run
    assert recovery.ended == []


def test_a_read_fails_the_run(recovery: Recovery) -> None:
    run = _stored(recovery.store, DEAD)
    assert recovery.runs.checked(run)["status"] == "FAILED"
    assert recovery.store.get(run["id"])["failure_code"] == "SERVER_LOST"


def test_processes_recovering_at_once_fail_the_run_once(tmp_path: Path) -> None:
    recoveries = [Recovery(tmp_path) for _ in range(4)]
    runs = [_stored(recoveries[0].store, DEAD) for _ in range(5)]
    start = threading.Barrier(len(recoveries))
    seen: list[list[dict[str, Any]]] = [[] for _ in recoveries]

    def recover(index: int) -> None:
        start.wait()
        seen[index] = [recoveries[index].runs.checked(run) for run in runs]

    threads = [threading.Thread(target=recover, args=(i,)) for i in range(len(recoveries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [recoveries[0].store.get(run["id"]) for run in runs]
    assert all(run["failure_code"] == "SERVER_LOST" for run in stored)
    for documents in seen:  # every process saw the one failure written
        assert documents == stored
    announced = sorted(i for recovery in recoveries for i in recovery.ended)
    assert announced == sorted(run["id"] for run in runs)  # each run announced once
