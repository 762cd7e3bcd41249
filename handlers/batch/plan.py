"""A batch request, validated into its effective spec and one RunRequest per child.

Every child is checked with `handlers.runs.request.prepare` before anything is stored, so a
rejected batch leaves nothing behind; errors point into the BatchRequest body. The project
is the batch's and each child's; `BatchService` looks it up once, for the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from generated.models import BatchRequest
from handlers.errors import FieldError, ValidationFailed
from handlers.runs.request import AssetDirectory, PreparedRun, RunRequest, prepare
from handlers.settings import Settings
from simengine.spec import DEFAULT_PROFILE

OPERATION = "createBatch"
MAX_CONCURRENCY = 64
_FLAT_FIELDS = (
    "scenario",
    "seed",
    "steps",
    "dt",
    "params",
    "urdf_path",
    "asset_id",
    "max_duration_s",
    "record_replay",
    "replay_of",
    "webhook_url",
    "webhook_secret",
)


@dataclass(frozen=True)
class BatchPlan:
    """The effective BatchSpec, the project (or None) and the children, by profile then
    episode."""

    spec: dict[str, Any]
    project_id: str | None
    children: list[RunRequest]


def default_concurrency() -> int:
    """Children at once in embedded mode when the request does not say: the cores."""
    return max(1, min(MAX_CONCURRENCY, os.cpu_count() or 1))


def plan(
    body: BatchRequest,
    settings: Settings,
    *,
    concurrency: int,
    assets: AssetDirectory | None = None,
) -> BatchPlan:
    """Validate `body` completely; `concurrency` is the default `max_concurrency`."""
    data = body.model_dump(mode="json")
    profiles: list[str] = data["profiles"]
    baseline = data.get("baseline_profile", DEFAULT_PROFILE)
    errors: list[FieldError] = []
    for i, name in enumerate(profiles):
        first = profiles.index(name)
        if first != i:
            errors.append(_error(f"/profiles/{i}", f"duplicate of /profiles/{first} ({name!r})"))
    if baseline not in profiles:
        reason = f"must be one of the batch's profiles ({', '.join(profiles)})"
        errors.append(_error("/baseline_profile", reason))
    prepared: PreparedRun | None = None
    for i, name in enumerate(profiles):
        try:
            request = _request(data, profile=name, index=i, episode=0)
            prepared = prepare(request, settings, assets=assets)
        except ValidationFailed as exc:
            errors += [e for e in exc.errors if e not in errors]
    if errors:
        raise ValidationFailed.for_fields(errors)
    assert prepared is not None
    episodes = int(data.get("dr_episodes_per_profile", 1))
    summary = prepared.summary
    spec = {
        "scenario": data.get("scenario", "urdf_rollout"),
        "urdf_path": data.get("urdf_path"),
        "asset_id": summary["asset_id"],
        "asset_sha256": summary["asset_sha256"],
        "profiles": profiles,
        "baseline_profile": baseline,
        "steps": summary["steps"],
        "dt": data.get("dt"),
        "seed": summary["seed"],
        "dr_episodes_per_profile": episodes,
        "max_concurrency": data.get("max_concurrency", concurrency),
        "params": summary["params"],
        "max_duration_s": summary["max_duration_s"],
        "tags": data.get("tags", []),
    }
    children = [
        _request(data, profile=name, index=i, episode=episode)
        for i, name in enumerate(profiles)
        for episode in range(episodes)
    ]
    return BatchPlan(spec=spec, project_id=data.get("project_id"), children=children)


def with_batch_id(request: RunRequest, batch_id: str) -> RunRequest:
    """`request` as a child of `batch_id`."""
    return replace(request, batch_id=batch_id)


def _request(data: dict[str, Any], *, profile: str, index: int, episode: int) -> RunRequest:
    pointers = {name: f"/{name}" for name in _FLAT_FIELDS}
    pointers["profile"] = f"/profiles/{index}"
    for key in data.get("params", {}):
        pointers[f"params.{key}"] = f"/params/{key}"
    scenario = data.get("scenario", "urdf_rollout")
    return RunRequest.of_fields(
        OPERATION, scenario, data, pointers, profile=profile, episode=episode
    )


def _error(pointer: str, reason: str) -> FieldError:
    return {"location": "body", "pointer": pointer, "reason": reason}
