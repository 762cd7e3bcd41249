"""Runs: validate a request, execute it in an isolated child, keep it in the run store.

Embedded mode: `create` runs the simulation synchronously (in a child process) and
returns the finished run. The API process never imports pybullet: validation and the
scenario/profile catalogues come from modules of `simengine` that do not load it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generated.models import RunCreate, SimRunRequest
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
from simengine import replay as engine_replay
from simengine import spec as engine_spec
from simengine.assets import AssetRejected, check_urdf, resolve_urdf_path
from simengine.errors import InvalidConfig
from simengine.versions import engine_info

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
# Where each RunRequest field sits in a RunCreate body, for 422 pointers.
_V1_POINTERS = {
    "scenario": "/scenario",
    "profile": "/options/profile",
    "seed": "/options/seed",
    "steps": "/options/steps",
    "dt": "/options/dt",
    "record_replay": "/options/record_replay",
    "max_duration_s": "/options/max_duration_s",
    "params": "/config/params",
    "urdf_path": "/config/urdf_path",
    "replay_of": "/options/replay_of",
    "webhook_url": "/options/webhook_url",
}
# SimRunRequest is flat: every field sits at the top of the body.
_SIM_POINTERS = {name: f"/{name}" for name in _V1_POINTERS}


@dataclass(frozen=True)
class RunRequest:
    """What to run, whichever API asked: `/v1/runs` (RunCreate) or `/api/sim/run`.

    `None` means "absent" (the server default applies). `operation` names the operation
    in 501 problems; `pointers` maps each field to its JSON pointer in the request body.
    """

    operation: str
    scenario: str
    pointers: Mapping[str, str]
    profile: str | None = None
    seed: int | None = None
    steps: int | None = None
    dt: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    urdf_path: str | None = None
    tags: tuple[str, ...] = ()
    max_duration_s: float | None = None
    record_replay: bool | None = None
    project_id: str | None = None
    webhook_url: str | None = None
    replay_of: str | None = None

    @classmethod
    def from_run_create(cls, body: RunCreate) -> RunRequest:
        """The request of `POST /v1/runs`."""
        data = body.model_dump(mode="json")  # absent fields are left out
        options: Mapping[str, Any] = data.get("options", {})
        config: Mapping[str, Any] = data.get("config", {})
        return cls(
            operation="createRun",
            scenario=body.scenario,
            pointers=_V1_POINTERS,
            profile=options.get("profile"),
            seed=options.get("seed"),
            steps=options.get("steps"),
            dt=options.get("dt"),
            params=config.get("params", {}),
            urdf_path=config.get("urdf_path"),
            tags=tuple(options.get("tags", ())),
            max_duration_s=options.get("max_duration_s"),
            record_replay=options.get("record_replay"),
            project_id=options.get("project_id"),
            webhook_url=options.get("webhook_url"),
            replay_of=options.get("replay_of"),
        )

    @classmethod
    def from_sim(cls, body: SimRunRequest) -> RunRequest:
        """The request of `POST /api/sim/run`."""
        data = body.model_dump(mode="json")
        return cls(
            operation="startSimRun",
            scenario=body.scenario,
            pointers=_SIM_POINTERS,
            profile=data.get("profile"),
            seed=data.get("seed"),
            steps=data.get("steps"),
            dt=data.get("dt"),
            params=data.get("params", {}),
            urdf_path=data.get("urdf_path"),
            tags=tuple(data.get("tags", ())),
            max_duration_s=data.get("max_duration_s"),
            record_replay=data.get("record_replay"),
            project_id=data.get("project_id"),
            webhook_url=data.get("webhook_url"),
        )


@dataclass(frozen=True)
class _Prepared:
    spec: dict[str, Any]
    max_duration_s: float
    summary: dict[str, Any]


class RunService:
    """The run lifecycle shared by `/v1/runs`, `/api/runs` and `/api/sim`."""

    # Runs execute in this server process (in isolated children) whatever REDIS_URL says:
    # the queued backend is not built yet (#4).
    backend = "embedded"

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

    async def create(self, request: RunRequest, *, origin: str) -> dict[str, Any]:
        """Validate, record, execute and store one run; returns the finished run document.

        Everything is validated before the store sees the run: a rejected request
        leaves nothing behind.
        """
        prepared = self._prepare(request)
        run_id = new_run_id()
        now = _now()
        run = {
            "id": run_id,
            "status": "RUNNING",
            "origin": origin,
            "scenario": request.scenario,
            "profile": prepared.spec["profile"],
            "project_id": request.project_id,
            "batch_id": None,
            "episode": None,
            "tags": list(request.tags),
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

    def report(self, run_id: str) -> dict[str, Any]:
        """The Report document of a finished run (409 while it has none)."""
        run = self._store.get(run_id)
        if not run["artifacts"]["report"]:
            raise ConflictError(f"Run {run_id} has no report yet (status {run['status']}).")
        report: dict[str, Any] = json.loads(self._store.read_file(run_id, "report.json"))
        return report

    def replay(self, run_id: str, *, stride: int) -> dict[str, Any]:
        """The ReplayBundle of a run: manifest plus every `stride`-th recorded step."""
        manifest, arrays = self._replay(run_id)
        columns = engine_replay.columns(arrays, stride=stride)
        return {
            "run_id": run_id,
            "manifest": manifest,
            "stride": stride,
            "rows": len(columns["step_index"]),
            "columns": columns,
        }

    def replay_npz(self, run_id: str) -> bytes:
        """The recorded replay archive (`replay.npz`) of a run, as stored (409 without one)."""
        self._replay_manifest(run_id)
        return self._store.read_file(run_id, "replay.npz")

    def step(self, run_id: str, step_index: int) -> dict[str, Any]:
        """One recorded step (SimStep shape); outside 0..N-1 → 422 naming the range."""
        manifest, arrays = self._replay(run_id)
        recorded = len(arrays["t"])
        if not 0 <= step_index < recorded:
            reason = (
                f"must be in 0..{recorded - 1}, got {step_index}"
                if recorded
                else f"run {run_id} recorded no steps, so no step_index is valid"
            )
            error: FieldError = {"location": "query", "pointer": "/step_index", "reason": reason}
            raise ValidationFailed.for_fields([error])
        return engine_replay.sim_step(manifest, arrays, step_index)

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

    def _replay(self, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        manifest = self._replay_manifest(run_id)
        arrays = engine_replay.from_npz(self._store.read_file(run_id, "replay.npz"))
        return manifest, dict(arrays)

    def _replay_manifest(self, run_id: str) -> dict[str, Any]:
        run = self._store.get(run_id)
        if not run["artifacts"]["replay"]:
            why = (
                "record_replay was false"
                if not run["config"]["record_replay"]
                else f"status {run['status']}"
            )
            raise ConflictError(f"Run {run_id} has no replay bundle ({why}).")
        manifest: dict[str, Any] = json.loads(self._store.read_file(run_id, "replay.json"))
        return manifest

    def _prepare(self, request: RunRequest) -> _Prepared:
        pointers = request.pointers
        for option in ("replay_of", "webhook_url"):  # built by later issues; never ignored
            if getattr(request, option) is not None:
                where = pointers[option].strip("/").replace("/", ".")
                raise NotImplementedOperation(f"{request.operation} with {where}")
        if request.project_id is not None:  # projects are not built yet, so none exists
            raise NotFoundError.resource("project", request.project_id)
        max_duration_s = request.max_duration_s
        if max_duration_s is None:
            max_duration_s = self._settings.default_max_duration_s
        if max_duration_s > self._settings.max_duration_ceiling_s:
            raise _invalid(
                pointers["max_duration_s"],
                f"must be at most {self._settings.max_duration_ceiling_s:g} s on this server",
            )
        spec: dict[str, Any] = {
            "scenario": request.scenario,
            "profile": request.profile if request.profile is not None else "default",
            "seed": request.seed if request.seed is not None else 0,
            "steps": request.steps,
            "dt": request.dt,
            "params": dict(request.params),
            "record_replay": request.record_replay if request.record_replay is not None else True,
            "urdf_path": None,
        }
        urdf_label = request.urdf_path
        try:
            validated = engine_spec.validate(spec)
            if urdf_label is not None:
                path = resolve_urdf_path(urdf_label, allowed_roots=[EXAMPLES_DIR])
                check_urdf(path, root=EXAMPLES_DIR)
                spec.update(urdf_path=str(path), urdf_label=urdf_label)
                engine_spec.validate(spec)
        except AssetRejected as exc:
            raise _invalid(pointers["urdf_path"], exc.reason) from exc
        except InvalidConfig as exc:
            raise _invalid(pointers.get(exc.field, ""), exc.reason) from exc
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
        metrics_document = None
        if metrics is not None:
            metrics_document = {
                **metrics,
                "run_id": run_id,
                "status": result.status.value,
                "history": output.get("history"),
            }
            files["metrics.json"] = _json(metrics_document)
        if result.replay_npz is not None:
            files["replay.npz"] = result.replay_npz
        manifest = output.get("manifest")
        if manifest is not None:
            files["replay.json"] = _json(manifest)
        steps_total = result.steps_total or run["progress"]["steps_total"]
        status = result.status.value
        finished = {
            **run,
            "status": status,
            "finished_at": _now(),
            "failure_code": result.failure_code.value if result.failure_code else None,
            "failure_reason": result.failure_reason,
            "dr_sample": output.get("dr_sample") or {},
            "progress": _progress(result.steps_done, steps_total),
            "metrics": _summary(metrics),
            "artifacts": {
                "metrics": "metrics.json" in files,
                "replay": "replay.npz" in files and "replay.json" in files,
                "report": True,
                "partial": status != "SUCCEEDED" and bool(files),
            },
            "trajectory_sha256": output.get("trajectory_sha256"),
        }
        report = {
            "run_id": run_id,
            "generated_at": _now(),
            "run": finished,
            "metrics": None if metrics_document is None else {**metrics_document, "history": None},
            "profile": output.get("applied_profile") or _profile(finished["profile"]),
            "engine": _engine(manifest, started=bool(output) or result.steps_done > 0),
            "replay": _replay_summary(manifest, result.replay_npz),
            "warnings": _warnings(finished),
        }
        files["report.json"] = _json(report)
        for name, data in files.items():
            self._store.put_file(run_id, name, data)
        self._store.update(run_id, finished)
        return finished


def _progress(done: int, total: int) -> dict[str, Any]:
    return {"steps_done": done, "steps_total": total, "fraction": min(1.0, done / total)}


# RunMetricsSummary: the headline figures of RunMetrics, without the history.
_SUMMARY_KEYS = (
    "steps",
    "sim_time_s",
    "wall_time_s",
    "avg_step_time_ms",
    "p95_step_time_ms",
    "realtime_factor",
    "task",
)


def _summary(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    return {key: metrics[key] for key in _SUMMARY_KEYS}


def _invalid(pointer: str, reason: str) -> ValidationFailed:
    error: FieldError = {"location": "body", "pointer": pointer, "reason": reason}
    return ValidationFailed.for_fields([error])


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _profile(name: str) -> dict[str, Any]:
    """The named profile as defined (used when the run never applied it)."""
    for profile in engine_api.list_profiles():
        if profile["name"] == name:
            return profile
    raise LookupError(name)  # the name was validated before the run started


def _engine(manifest: Mapping[str, Any] | None, *, started: bool) -> dict[str, Any] | None:
    """The EngineInfo of a run: the recorded one, else this install's (same venv as the
    children), or null when the run never produced anything."""
    if manifest is not None:
        return dict(manifest["engine"])
    return dict(engine_info()) if started else None


def _replay_summary(manifest: Mapping[str, Any] | None, npz: bytes | None) -> dict[str, Any] | None:
    if manifest is None or npz is None:
        return None
    return {
        "steps_recorded": manifest["steps_recorded"],
        "size_bytes": len(npz),
        "partial": manifest["partial"],
        "trajectory_sha256": manifest["trajectory_sha256"],
        "urdf_sha256": manifest["urdf_sha256"],
    }


def _warnings(run: Mapping[str, Any]) -> list[str]:
    warnings = []
    progress = run["progress"]
    if run["status"] != "SUCCEEDED":
        ended = f"run ended {run['status']} after {progress['steps_done']} of "
        ended += f"{progress['steps_total']} steps"
        if run["artifacts"]["partial"]:
            ended += "; its artifacts are partial"
        warnings.append(ended)
    if not run["config"]["record_replay"]:
        warnings.append("no replay was recorded (record_replay was false)")
    return warnings
