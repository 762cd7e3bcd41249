"""What a run left behind: metrics, report, replay bundle and steps, read from the run store.

Also turns `options.replay_of` into the inputs the replayed run recorded.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from handlers.errors import ConflictError, FieldError, ValidationFailed
from handlers.kit import caller
from handlers.runs.request import RunRequest
from handlers.runs.store import RunStore
from simengine import replay as engine_replay


class RunArtifacts:
    """Reads the artifacts of stored runs (409 while a run has not produced them)."""

    def __init__(self, store: RunStore) -> None:
        self._store = store

    def run(self, run_id: str) -> dict[str, Any]:
        """The run document, if the caller may see it (else the same 404 as an unknown id)."""
        run = self._store.get(run_id)
        caller.current().require_visible(run["project_id"], "run", run_id)
        return run

    def metrics(self, run_id: str, *, history: bool) -> dict[str, Any]:
        """The RunMetrics document of a finished run (409 while it has none)."""
        run = self.run(run_id)
        if not run["artifacts"]["metrics"]:
            raise ConflictError(f"Run {run_id} has no metrics (status {run['status']}).")
        metrics: dict[str, Any] = json.loads(self._store.read_file(run_id, "metrics.json"))
        if not history:
            metrics["history"] = None
        return metrics

    def report(self, run_id: str) -> dict[str, Any]:
        """The Report document of a finished run (409 while it has none)."""
        run = self.run(run_id)
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
        self.replay_manifest(run_id)
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
            raise ValidationFailed.at("/step_index", reason, location="query")
        return engine_replay.sim_step(manifest, arrays, step_index)

    def _replay(self, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        manifest = self.replay_manifest(run_id)
        arrays = engine_replay.from_npz(self._store.read_file(run_id, "replay.npz"))
        return manifest, dict(arrays)

    def replay_manifest(self, run_id: str) -> dict[str, Any]:
        run = self.run(run_id)
        if not run["artifacts"]["replay"]:
            why = (
                "record_replay was false"
                if not run["config"]["record_replay"]
                else f"status {run['status']}"
            )
            raise ConflictError(f"Run {run_id} has no replay bundle ({why}).")
        manifest: dict[str, Any] = json.loads(self._store.read_file(run_id, "replay.json"))
        return manifest

    def replayed(self, request: RunRequest) -> RunRequest:
        """`request` with the inputs recorded by the run it replays (`options.replay_of`)."""
        source_id = str(request.replay_of)
        source = self.run(source_id)
        manifest = self.replay_manifest(source_id)
        if manifest["partial"]:
            raise ConflictError(
                f"Run {source_id} recorded only {manifest['steps_recorded']} of "
                f"{manifest['steps']} steps (status {source['status']}); a partial bundle "
                "cannot be replayed."
            )
        config = source["config"]
        recorded: dict[str, Any] = {
            "profile": source["profile"],
            "seed": config["seed"],
            "steps": config["steps"],
            "dt": config["dt"],
            "params": config["params"],
            "urdf_path": config["urdf_path"],
            "asset_id": config.get("asset_id"),  # absent in runs of 0.1
        }
        errors: list[FieldError] = []
        given = {"scenario": request.scenario}
        given.update({k: getattr(request, k) for k in recorded if k in request.explicit})
        for name, value in given.items():
            expected = source["scenario"] if name == "scenario" else recorded[name]
            if value != expected:
                reason = (
                    f"run {source_id} recorded {expected!r}; a replay takes its inputs from "
                    "the recording, so leave this out or give the same value"
                )
                errors.append(
                    {"location": "body", "pointer": request.pointers[name], "reason": reason}
                )
        if errors:
            raise ValidationFailed.for_fields(errors)
        return dataclasses.replace(request, episode=source["episode"], **recorded)
