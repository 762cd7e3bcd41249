"""A batch's report, derived from its stored record and its child runs (the runs are the
truth, so the report is right in embedded and queued mode alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simengine.evaluation import collect, flatten, profile_stats

UNFINISHED = ("created", "queued", "running")
_STATES = ("created", "queued", "running", "succeeded", "failed", "cancelled")


def counts(record: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """BatchCounts: children per state; planned children not stored yet count as created."""
    spec = record["spec"]
    total = len(spec["profiles"]) * spec["dr_episodes_per_profile"]
    found = dict.fromkeys(_STATES, 0)
    for child in children:
        found[child["status"].lower()] += 1
    found["created"] += max(0, total - len(children))
    return {"total": total, **found}


def status(tally: Mapping[str, int]) -> str:
    """BatchStatus from the per-state counts (see BatchStatus.schema.json)."""
    if any(tally[state] for state in UNFINISHED):
        started = tally["running"] + tally["succeeded"] + tally["failed"] + tally["cancelled"]
        if started:
            return "RUNNING"
        return "QUEUED" if tally["queued"] else "CREATED"
    if tally["succeeded"] == tally["total"]:
        return "SUCCEEDED"
    if tally["succeeded"]:
        return "PARTIALLY_SUCCEEDED"
    return "CANCELLED" if tally["cancelled"] == tally["total"] else "FAILED"


def ordered(record: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The child runs by profile (in the batch's order) then episode."""
    position = {name: i for i, name in enumerate(record["spec"]["profiles"])}
    return sorted((dict(r) for r in runs), key=lambda r: (position[r["profile"]], r["episode"]))


def successful_values(
    children: Sequence[Mapping[str, Any]], profile: str
) -> dict[str, list[float]]:
    """Every metric of `profile`'s successful children, one value per episode."""
    return collect(
        [
            flatten(child["metrics"])
            for child in children
            if child["profile"] == profile and child["status"] == "SUCCEEDED"
        ]
    )


def report(record: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The BatchReport of `record` with its (ordered) child runs."""
    tally = counts(record, children)
    state = status(tally)
    started = [c["started_at"] for c in children if c.get("started_at")]
    finished = [c["finished_at"] for c in children if c.get("finished_at")]
    done = state not in ("CREATED", "QUEUED", "RUNNING")
    return {
        "id": record["id"],
        "status": state,
        "spec": {"asset_id": None, "asset_sha256": None, **record["spec"]},  # 0.1: no assets
        "project_id": record.get("project_id"),
        "created_at": record["created_at"],
        "started_at": min(started) if started else None,
        "finished_at": max(finished) if done and finished else None,
        "counts": tally,
        "profiles": [_profile(name, children) for name in record["spec"]["profiles"]],
        "children": [_child(c) for c in children],
    }


def _profile(name: str, children: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    own = [c for c in children if c["profile"] == name]
    succeeded = sum(c["status"] == "SUCCEEDED" for c in own)
    failed = sum(c["status"] in ("FAILED", "CANCELLED") for c in own)
    return {
        "profile": name,
        "episodes": len(own),
        "succeeded": succeeded,
        "failed": failed,
        "run_ids": [c["id"] for c in own],
        "metrics": profile_stats(successful_values(children, name)),
    }


def _child(run: Mapping[str, Any]) -> dict[str, Any]:
    failed = run["status"] == "FAILED"
    return {
        "run_id": run["id"],
        "profile": run["profile"],
        "episode": run["episode"],
        "status": run["status"],
        "failure_code": run["failure_code"] if failed else None,
        "failure_reason": run["failure_reason"] if failed else None,
        "dr_sample": run["dr_sample"],
    }
