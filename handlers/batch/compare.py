"""`POST /api/sim/compare`: one metric across runs, with the pairwise drop matrices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.errors import ConflictError, ValidationFailed
from handlers.runs.service import RunService
from simengine import api as engine_api
from simengine.evaluation import flatten, pairwise


def compare(runs: RunService, run_ids: Sequence[str], metric_key: str) -> dict[str, Any]:
    """The CompareResult of `metric_key` over `run_ids` (404 unknown run, 409 no metrics,
    422 a metric some run does not report, listing the keys every run has)."""
    documents = [runs.get(run_id) for run_id in run_ids]
    values = []
    for run in documents:
        if run["metrics"] is None:
            raise ConflictError(f"Run {run['id']} has no metrics (status {run['status']}).")
        values.append(flatten(run["metrics"]))
    common = sorted(set.intersection(*(set(v) for v in values)))
    if metric_key not in common:
        reason = f"unknown metric {metric_key!r} for these runs; they all have: {', '.join(common)}"
        raise ValidationFailed.at("/metric_key", reason)
    direction = _direction(documents[0]["scenario"], metric_key)
    series = [v[metric_key] for v in values]
    drop_abs, drop_rel = pairwise(series, direction)
    return {
        "metric_key": metric_key,
        "direction": direction,
        "runs": [
            {"run_id": r["id"], "scenario": r["scenario"], "profile": r["profile"], "value": v}
            for r, v in zip(documents, series, strict=True)
        ],
        "drop_abs": drop_abs,
        "drop_rel": drop_rel,
    }


def _direction(scenario: str, key: str) -> str:
    """The direction the scenario declares for `key` (neutral if it declares none)."""
    for declared in engine_api.list_scenarios():
        if declared["name"] == scenario:
            for metric in declared["metrics"]:
                if metric["key"] == key:
                    return str(metric["direction"])
    return "neutral"
