"""Runs: validate a request, execute it in an isolated child, keep it in the run store.

Embedded mode: `create` runs the simulation synchronously (in a child process) and
returns the finished run. The API process never imports pybullet: validation and the
scenario/profile catalogues come from modules of `simengine` that do not load it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generated.models import RunCreate
from handlers.errors import (
    ConflictError,
    FieldError,
    NotFoundError,
    NotImplementedOperation,
    ServiceUnavailable,
    ValidationFailed,
)
from handlers.executor import ExecutionResult, Executor
from handlers.runids import new_run_id
from handlers.runstore import RunStore
from handlers.settings import Settings
from simengine import api as engine_api
from simengine import spec as engine_spec
from simengine.assets import AssetRejected, check_urdf, resolve_urdf_path
from simengine.errors import InvalidConfig

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
# Where each engine spec field sits in a RunCreate body, for 422 pointers.
_POINTERS = {
    "scenario": "/scenario",
    "profile": "/options/profile",
    "seed": "/options/seed",
    "steps": "/options/steps",
    "dt": "/options/dt",
    "record_replay": "/options/record_replay",
    "params": "/config/params",
    "urdf_path": "/config/urdf_path",
}


@dataclass(frozen=True)
class _Prepared:
    spec: dict[str, Any]
    max_duration_s: float
    summary: dict[str, Any]


class RunService:
    """The run lifecycle shared by `/v1/runs`, `/api/runs` and `/api/sim`."""

    def __init__(self, *, settings: Settings, executor: Executor) -> None:
        self._settings = settings
        self._opened: RunStore | None = None
        self._executor = executor
        self._cancels: dict[str, threading.Event] = {}

    @property
    def _store(self) -> RunStore:
        # Opened on first use, so a bad RUNS_DIR shows in health instead of stopping start-up.
        if self._opened is None:
            try:
                self._opened = RunStore(self._settings.runs_dir)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise ServiceUnavailable(f"Run storage is unavailable: {reason}.") from exc
        return self._opened

    def scenarios(self) -> list[dict[str, Any]]:
        """Every scenario, as the Scenario contract shapes it."""
        return engine_api.list_scenarios()

    def profiles(self) -> list[dict[str, Any]]:
        """Every reality profile, as the RealityProfile contract shapes it."""
        return engine_api.list_profiles()

    async def create(self, body: RunCreate, *, origin: str) -> dict[str, Any]:
        """Validate, record, execute and store one run; returns the finished run document."""
        prepared = self._prepare(body)
        run_id = new_run_id()
        now = _now()
        options = body.model_dump(mode="json").get("options", {})
        run = {
            "id": run_id,
            "status": "RUNNING",
            "origin": origin,
            "scenario": body.scenario,
            "profile": prepared.spec["profile"],
            "project_id": options.get("project_id"),
            "batch_id": None,
            "episode": None,
            "tags": options.get("tags", []),
            "config": prepared.summary,
            "dr_sample": {},
            "progress": {
                "steps_done": 0,
                "steps_total": prepared.summary["steps"],
                "fraction": 0.0,
            },
            "created_at": now,
            "queued_at": None,
            "started_at": now,
            "finished_at": None,
            "failure_code": None,
            "failure_reason": None,
            "metrics": None,
            "artifacts": {"metrics": False, "replay": False, "report": False, "partial": False},
            "replay_of": None,
            "replay_match": None,
            "trajectory_sha256": None,
            "webhook": None,
        }
        self._store.create(run)
        cancel = self._cancels.setdefault(run_id, threading.Event())
        try:
            result = await self._executor.execute_async(
                {**prepared.spec, "run_id": run_id},
                max_duration_s=prepared.max_duration_s,
                cancel_event=cancel,
            )
        finally:
            self._cancels.pop(run_id, None)
        return self._finish(run, result)

    def get(self, run_id: str) -> dict[str, Any]:
        """One run document (404 when unknown)."""
        return self._store.get(run_id)

    def list(self, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
        """A page of runs, newest first."""
        return self._store.list(**filters)

    def metrics(self, run_id: str, *, history: bool) -> dict[str, Any]:
        """The RunMetrics document of a finished run (409 while it has none)."""
        run = self._store.get(run_id)
        if not run["artifacts"]["metrics"]:
            raise ConflictError(f"Run {run_id} has no metrics (status {run['status']}).")
        metrics: dict[str, Any] = json.loads(self._store.read_file(run_id, "metrics.json"))
        if not history:
            metrics["history"] = None
        return metrics

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a running run to stop; a finished one is a 409."""
        run = self._store.get(run_id)
        if run["status"] in FINISHED:
            raise ConflictError(f"Run {run_id} is already {run['status']}; nothing to cancel.")
        event = self._cancels.get(run_id)
        if event is None:
            raise ConflictError(f"Run {run_id} is not running in this server process.")
        event.set()
        return run

    def _prepare(self, body: RunCreate) -> _Prepared:
        data = body.model_dump(mode="json")
        options: Mapping[str, Any] = data.get("options", {})
        config: Mapping[str, Any] = data.get("config", {})
        for option in ("replay_of", "webhook_url"):
            if option in options:  # built by later issues; never silently ignored
                raise NotImplementedOperation(f"createRun with options.{option}")
        if "project_id" in options:  # projects are not built yet, so none exists
            raise NotFoundError.resource("project", options["project_id"])
        max_duration_s = options.get("max_duration_s", self._settings.default_max_duration_s)
        if max_duration_s > self._settings.max_duration_ceiling_s:
            raise _invalid(
                "/options/max_duration_s",
                f"must be at most {self._settings.max_duration_ceiling_s:g} s on this server",
            )
        spec: dict[str, Any] = {
            "scenario": body.scenario,
            "profile": options.get("profile", "default"),
            "seed": options.get("seed", 0),
            "steps": options.get("steps"),
            "dt": options.get("dt"),
            "params": config.get("params", {}),
            "record_replay": options.get("record_replay", True),
            "urdf_path": None,
        }
        urdf_label = config.get("urdf_path")
        try:
            validated = engine_spec.validate(spec)
            if urdf_label is not None:
                path = resolve_urdf_path(urdf_label, allowed_roots=[EXAMPLES_DIR])
                check_urdf(path, root=EXAMPLES_DIR)
                spec.update(urdf_path=str(path), urdf_label=urdf_label)
                engine_spec.validate(spec)
        except AssetRejected as exc:
            raise _invalid("/config/urdf_path", exc.reason) from exc
        except InvalidConfig as exc:
            raise _invalid(_POINTERS.get(exc.field, ""), exc.reason) from exc
        spec.update(profile=validated.profile, steps=validated.steps, dt=validated.dt)
        summary = {
            "urdf_path": urdf_label,
            "params": validated.params,
            "seed": validated.seed,
            "steps": validated.steps,
            "dt": validated.dt,
            "max_duration_s": max_duration_s,
            "record_replay": validated.record_replay,
        }
        return _Prepared(spec=spec, max_duration_s=max_duration_s, summary=summary)

    def _finish(self, run: dict[str, Any], result: ExecutionResult) -> dict[str, Any]:
        run_id = run["id"]
        output = result.output or {}
        metrics = output.get("metrics")
        files: dict[str, bytes] = {}
        if metrics is not None:
            document = {
                **metrics,
                "run_id": run_id,
                "status": result.status.value,
                "history": output.get("history"),
            }
            files["metrics.json"] = _json(document)
        if result.replay_npz is not None:
            files["replay.npz"] = result.replay_npz
        if output.get("manifest") is not None:
            files["replay.json"] = _json(output["manifest"])
        for name, data in files.items():
            self._store.put_file(run_id, name, data)
        steps_total = result.steps_total or run["progress"]["steps_total"]
        finished = {
            **run,
            "status": result.status.value,
            "finished_at": _now(),
            "failure_code": result.failure_code.value if result.failure_code else None,
            "failure_reason": result.failure_reason,
            "dr_sample": output.get("dr_sample") or {},
            "progress": _progress(result.steps_done, steps_total),
            "metrics": _summary(metrics),
            "artifacts": {
                "metrics": "metrics.json" in files,
                "replay": "replay.npz" in files,
                "report": False,
                "partial": result.status.value != "SUCCEEDED" and bool(files),
            },
            "trajectory_sha256": output.get("trajectory_sha256"),
        }
        self._store.update(run_id, finished)
        return finished


def _progress(done: int, total: int) -> dict[str, Any]:
    return {"steps_done": done, "steps_total": total, "fraction": min(1.0, done / total)}


def _summary(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    keys = ("steps", "sim_time_s", "wall_time_s", "avg_step_time_ms", "p95_step_time_ms")
    return {
        **{key: metrics[key] for key in keys},
        "realtime_factor": metrics["realtime_factor"],
        "task": metrics["task"],
    }


def _invalid(pointer: str, reason: str) -> ValidationFailed:
    error: FieldError = {"location": "body", "pointer": pointer, "reason": reason}
    return ValidationFailed.for_fields([error])


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
