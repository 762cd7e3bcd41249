"""A batch's state and report derived from its children (synthetic run documents)."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.batch import report as batchreport

RECORD = {
    "id": "bat_1",
    "created_at": "2026-01-01T00:00:00Z",
    "spec": {"profiles": ["default", "worn_actuators"], "dr_episodes_per_profile": 2},
}


def _run(profile: str, episode: int, status: str, score: float | None = None) -> dict[str, Any]:
    return {
        "id": f"run_{profile[0]}{episode}",
        "profile": profile,
        "episode": episode,
        "status": status,
        "started_at": f"2026-01-01T00:00:0{episode}Z",
        "finished_at": None if status in ("QUEUED", "RUNNING") else "2026-01-01T00:01:00Z",
        "failure_code": "DIVERGED" if status == "FAILED" else None,
        "failure_reason": "state ran away" if status == "FAILED" else None,
        "dr_sample": {},
        "metrics": None if score is None else {"steps": 10, "task": {"score": score}},
    }


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "CREATED"),
        (["QUEUED", "QUEUED"], "QUEUED"),
        (["SUCCEEDED", "QUEUED", "QUEUED", "QUEUED"], "RUNNING"),
        (["SUCCEEDED"] * 4, "SUCCEEDED"),
        (["SUCCEEDED", "FAILED", "CANCELLED", "SUCCEEDED"], "PARTIALLY_SUCCEEDED"),
        (["FAILED", "CANCELLED", "FAILED", "FAILED"], "FAILED"),
        (["CANCELLED"] * 4, "CANCELLED"),
    ],
)
def test_status_from_children(statuses: list[str], expected: str) -> None:
    children = [_run("default", i, s) for i, s in enumerate(statuses)]
    assert batchreport.status(batchreport.counts(RECORD, children)) == expected


def test_partial_failure_reports_what_succeeded_and_what_failed() -> None:
    children = [
        _run("default", 0, "SUCCEEDED", 0.9),
        _run("default", 1, "SUCCEEDED", 0.7),
        _run("worn_actuators", 0, "FAILED", None),
        _run("worn_actuators", 1, "SUCCEEDED", 0.4),
    ]
    report = batchreport.report(RECORD, children)
    assert report["status"] == "PARTIALLY_SUCCEEDED"
    assert report["counts"]["succeeded"] == 3
    assert report["counts"]["failed"] == 1
    worn = report["profiles"][1]
    assert (worn["episodes"], worn["succeeded"], worn["failed"]) == (2, 1, 1)
    assert worn["metrics"]["score"]["n"] == 1
    assert worn["metrics"]["score"]["std"] is None
    assert report["profiles"][0]["metrics"]["score"]["mean"] == pytest.approx(0.8)
    failed = [c for c in report["children"] if c["status"] == "FAILED"]
    assert [(c["run_id"], c["failure_code"]) for c in failed] == [("run_w0", "DIVERGED")]
    assert report["finished_at"] == "2026-01-01T00:01:00Z"


def test_unfinished_batch_has_no_finish_time() -> None:
    children = [_run("default", 0, "SUCCEEDED", 0.9), _run("default", 1, "RUNNING")]
    report = batchreport.report(RECORD, children)
    assert report["status"] == "RUNNING"
    assert report["finished_at"] is None
    assert report["counts"]["created"] == 2  # the worn_actuators children are not stored yet
