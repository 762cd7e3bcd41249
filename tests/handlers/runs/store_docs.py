"""Synthetic Run documents for the run store's tests, its crash writer and its bench."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.runs.ids import new_run_id

SCENARIOS = ("arm_reach", "drop_test", "push_slide", "quadruped_stand", "urdf_rollout")
STATUSES = ("CREATED", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
PROFILES = ("default", "slippery_warehouse", "pseudo_reality_A")
ORIGINS = ("v1", "sim", "batch", "cli")
TAGS = ("nightly", "smoke", "regression", "gpu")
PROJECTS = (None, "prj_4b1d7c93e0a24f6b9d35c8e1", "prj_0123456789abcdef01234567")
START = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, milliseconds when not whole seconds (as the API writes)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z").replace(".000Z", "Z")


def make_run(
    *,
    run_id: str | None = None,
    created_at: datetime = START,
    status: str = "SUCCEEDED",
    scenario: str = "arm_reach",
    profile: str = "default",
    origin: str = "v1",
    batch_id: str | None = None,
    project_id: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """A complete Run document (valid against contracts/schemas/Run.schema.json)."""
    final = status in ("SUCCEEDED", "FAILED", "CANCELLED")
    return {
        "id": run_id or new_run_id(),
        "status": status,
        "origin": origin,
        "scenario": scenario,
        "profile": profile,
        "project_id": project_id,
        "batch_id": batch_id,
        "episode": 0 if batch_id else None,
        "tags": list(tags or []),
        "config": {
            "urdf_path": None,
            "asset_id": None,
            "asset_sha256": None,
            "params": {},
            "seed": 1,
            "steps": 240,
            "dt": 1 / 240,
            "max_duration_s": 60,
            "record_replay": True,
        },
        "dr_sample": {},
        "progress": {
            "steps_done": 240 if final else 0,
            "steps_total": 240,
            "fraction": 1.0 if final else 0.0,
        },
        "created_at": timestamp(created_at),
        "queued_at": None,
        "started_at": None,
        "finished_at": timestamp(created_at + timedelta(seconds=1)) if final else None,
        "failure_code": "TIMEOUT" if status == "FAILED" else None,
        "failure_reason": "Run exceeded max_duration_s." if status == "FAILED" else None,
        "metrics": None,
        "artifacts": {"metrics": False, "replay": False, "report": False, "partial": False},
        "replay_of": None,
        "replay_match": None,
        "trajectory_sha256": None,
        "webhook": None,
    }


def seeded(seed: int) -> random.Random:
    """A seeded generator for reproducible test data (never for secrets)."""
    return random.Random(seed)  # noqa: S311


def random_run(rng: random.Random, *, index: int) -> dict[str, Any]:
    """A run with random filter fields, created `index` milliseconds after START."""
    return make_run(
        run_id=f"run_{rng.getrandbits(96):024x}",
        created_at=START + timedelta(milliseconds=index),
        status=rng.choice(STATUSES),
        scenario=rng.choice(SCENARIOS),
        profile=rng.choice(PROFILES),
        origin=rng.choice(ORIGINS),
        tags=rng.sample(TAGS, rng.randint(0, 2)),
        project_id=rng.choice(PROJECTS),
    )
