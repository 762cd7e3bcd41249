"""Run documents: the Run a new request starts as, and the artifacts and final state it ends with.

Shared by the embedded mode (the API process) and `qers worker`: both write through a
`RunWriter` (the RunStore, or run folders announced to the API's index).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Protocol

from generated.models import FailureCode, RunStatus
from handlers.isolation.outcome import ExecutionResult
from handlers.kit.timestamps import rfc3339
from handlers.runs.request import PreparedRun, RunRequest
from handlers.webhooks.plan import WebhookPlan, message_id_for
from simengine import api as engine_api
from simengine.evaluation import ENGINE_KEYS
from simengine.versions import engine_info

FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class RunWriter(Protocol):
    """Where a run's documents go."""

    def update(self, run_id: str, run: Mapping[str, Any]) -> None: ...

    def read_file(self, run_id: str, name: str) -> bytes: ...

    def put_file(self, run_id: str, name: str, data: bytes) -> None: ...

    def put_files_and_update(
        self,
        run_id: str,
        files: Mapping[str, bytes],
        run: Mapping[str, Any],
        *,
        durable: bool = True,
    ) -> None:
        """The artifacts, then the final document, their fsyncs side by side: a reader (or
        a crash) that finds the run finished finds its artifacts too. `durable=False`: no
        fsync (a batch child; its batch commits its children in one group)."""
        ...


def new_run(
    run_id: str, request: RunRequest, prepared: PreparedRun, *, origin: str, status: str
) -> dict[str, Any]:
    """The Run document of an accepted request, in `status` (RUNNING or QUEUED)."""
    now = rfc3339()
    return {
        "id": run_id,
        "status": status,
        "origin": origin,
        "scenario": request.scenario,
        "profile": prepared.spec["profile"],
        "project_id": request.project_id,
        "batch_id": request.batch_id,
        "episode": request.episode,
        "tags": list(request.tags),
        "config": prepared.summary,
        "dr_sample": {},
        "progress": progress(0, prepared.summary["steps"]),
        "created_at": now,
        "queued_at": now if status == "QUEUED" else None,
        "started_at": now if status == "RUNNING" else None,
        "finished_at": None,
        "failure_code": None,
        "failure_reason": None,
        "metrics": None,
        "artifacts": {"metrics": False, "replay": False, "report": False, "partial": False},
        "replay_of": request.replay_of,
        "replay_match": None,
        "trajectory_sha256": None,
        "webhook": None if prepared.webhook is None else prepared.webhook.document(creation=False),
    }


def as_running(run: Mapping[str, Any]) -> dict[str, Any]:
    """`run` as it starts stepping."""
    return {**run, "status": "RUNNING", "started_at": rfc3339()}


def finish(
    writer: RunWriter, run: Mapping[str, Any], result: ExecutionResult, *, durable: bool = True
) -> dict[str, Any]:
    """Store the artifacts and the final Run document of `run` as `result` says it ended
    (`durable`: see `RunWriter.put_files_and_update`)."""
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
        "finished_at": rfc3339(),
        "failure_code": result.failure_code.value if result.failure_code else None,
        "failure_reason": result.failure_reason,
        "dr_sample": output.get("dr_sample") or {},
        "progress": progress(result.steps_done, steps_total),
        "metrics": _summary(metrics),
        "artifacts": {
            "metrics": "metrics.json" in files,
            "replay": "replay.npz" in files and "replay.json" in files,
            "report": True,
            "partial": status != "SUCCEEDED" and bool(files),
        },
        "trajectory_sha256": output.get("trajectory_sha256"),
    }
    if run.get("replay_of") is not None:
        finished["replay_match"] = _matches(writer, run["replay_of"], finished["trajectory_sha256"])
    if run.get("webhook") is not None:  # the event's id, the same for every attempt
        finished["webhook"] = {**run["webhook"], "message_id": message_id_for(run_id)}
    report = {
        "run_id": run_id,
        "generated_at": rfc3339(),
        "run": finished,
        "metrics": None if metrics_document is None else {**metrics_document, "history": None},
        "profile": output.get("applied_profile") or _profile(finished["profile"]),
        "engine": _engine(manifest, started=bool(output) or result.steps_done > 0),
        "replay": _replay_summary(manifest, result.replay_npz),
        "warnings": _warnings(finished),
    }
    files["report.json"] = _json(report)
    writer.put_files_and_update(run_id, files, finished, durable=durable)
    return finished


def _matches(writer: RunWriter, source_id: str, trajectory_sha256: str | None) -> bool | None:
    """Whether a replay reproduced the recording bit for bit (None: it produced nothing)."""
    if trajectory_sha256 is None:
        return None
    manifest = json.loads(writer.read_file(source_id, "replay.json"))
    return bool(manifest["trajectory_sha256"] == trajectory_sha256)


class ProgressWriter:
    """Writes RunProgress into the stored run at most every `interval_s` (while RUNNING);
    `run` is the document as last written."""

    def __init__(self, writer: RunWriter, run: Mapping[str, Any], *, interval_s: float) -> None:
        self._writer = writer
        self._interval_s = interval_s
        self.run = dict(run)
        self._last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval_s or not total:
            return
        self._last = now
        self.run = {**self.run, "progress": progress(done, total)}
        self._writer.update(self.run["id"], self.run)


def progress(done: int, total: int) -> dict[str, Any]:
    """A RunProgress document."""
    return {"steps_done": done, "steps_total": total, "fraction": min(1.0, done / total)}


# RunMetricsSummary: the headline figures of RunMetrics, without the history.
_SUMMARY_KEYS = (*ENGINE_KEYS, "task")


def _summary(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    return {key: metrics[key] for key in _SUMMARY_KEYS}


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


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


def end(
    writer: RunWriter,
    run: Mapping[str, Any],
    *,
    status: RunStatus,
    failure_code: FailureCode | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Finish `run` without output from the engine (cancelled in the queue, worker lost)."""
    result = ExecutionResult(
        status=status,
        failure_code=failure_code,
        failure_reason=reason,
        steps_done=run["progress"]["steps_done"],
    )
    return finish(writer, run, result)


def with_shown_secret(run: dict[str, Any], webhook: WebhookPlan | None) -> dict[str, Any]:
    """The creation response: the run with a generated webhook secret, shown this once."""
    if webhook is None or run.get("webhook") is None:
        return run
    shown = webhook.document(creation=True)["secret"]
    return {**run, "webhook": {**run["webhook"], "secret": shown}}


def without_secret(run: dict[str, Any]) -> dict[str, Any]:
    """The run as stored and replayed: a webhook secret is never shown again."""
    if run.get("webhook") is None:
        return dict(run)
    return {**run, "webhook": {**run["webhook"], "secret": None}}
