"""The one entry point the simulation child calls, plus listings.

Everything returned is a plain dict shaped like the contract schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simengine import profiles, scenarios, spec
from simengine.types import JSONDict


def run_spec(
    run: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Validate a run spec, then simulate it.

    Args:
        run: {"scenario", "profile", "seed", "steps" | None, "dt" | None, "params",
            "urdf_path" | None (a loadable path, already checked by the caller),
            "urdf_label" | None (the relative path to record; default: urdf_path if
            relative, else its file name), "record_replay", "dr_episode" | None,
            "run_id" | None}.
        progress: Called with (steps_done, steps_total) about 100 times per run.
        should_stop: Polled before every step; True stops the run early (a partial
            result: `metrics.partial` and the manifest's `partial` are true).

    Returns:
        {"metrics": RunMetrics dict, "history": MetricHistory dict, "manifest":
        ReplayManifest dict | None, "replay_npz": bytes | None, "trajectory_sha256": str,
        "dr_sample": dict, "applied_profile": RealityProfile dict}.

    Raises:
        InvalidConfig, UnknownScenario, UnknownProfile: before any physics is loaded.
        InvalidAsset: the URDF could not be loaded.
        Diverged: the state became NaN/infinite or ran away; its `partial_output` holds
            the result (this shape, partial) up to the last sound step.
    """
    validated = spec.validate(run)
    from simengine import runner  # pybullet is imported only once the spec is valid

    return runner.run(validated, progress=progress, should_stop=should_stop)


def gap_spec(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """G_dyn and G_perc of one recorded episode under each pseudo-reality profile.

    See `simengine.openloop.gap_spec` for the job and result shapes.
    """
    from simengine import openloop  # loads pybullet: only a simulation child calls this

    return openloop.gap_spec(job, progress=progress, should_stop=should_stop)


def import_asset(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Turn one uploaded file into a canonical, checked, measured robot.

    Args:
        job: {"source": absolute path of the uploaded file, "filename": the client's file
            name or None (a hint only), "work_dir": absolute path of an empty folder that
            receives every canonical file, "format": None | "urdf" | "usd" | "mesh" (None:
            from the content), "main_file": None | the URDF or USD stage inside a zip,
            "density_kg_m3": 1000 (for inertia computed from meshes), "name": robot name
            for a bare mesh, "limits": ImportLimits fields (all optional), "check_steps":
            240}.
        progress: Called with (stages_done, stages_total) after each stage.
        should_stop: Polled between stages; True stops the import (ImportStopped).

    Returns:
        {"source_format": "urdf" | "usd" | "mesh", "container": "zip" | "file",
        "source_kind": AssetSourceKind, "main_file": the canonical URDF relative to
        work_dir, "robot_name": str, "stats": AssetStats dict, "warnings": [str],
        "check": AssetCheck dict}.

    Raises:
        InvalidConfig: the job itself is malformed (a caller bug, not the upload).
        AssetRejected: the upload is refused (422); `element` names the zip entry, URDF
            element or prim, the reason the rule. Never a server path.
        PackageTooLarge: a size, entry-count, compression-ratio or triangle limit (413).
        ImportStopped: `should_stop()` returned True.
    """
    from simengine.imports import pipeline  # loads trimesh and pybullet: only a child calls it

    return pipeline.import_asset(job, progress=progress, should_stop=should_stop)


def segment_asset(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Split an imported asset into parts, each with its mesh, mass and inertia.

    Args:
        job: {"asset_dir": absolute path of the asset's canonical folder, "main_file": its
            canonical URDF relative to asset_dir, "format": "urdf" | "usd" | "mesh",
            "source_kind": AssetSourceKind, "method": "links" | "connected_components" |
            "mesh_groups" | "convex_decomposition", "density_kg_m3": float > 0,
            "max_parts": int >= 1, "decomposition": {"threshold": 0.01..1, "max_hulls":
            1..256 | None, "seed": int >= 0} (optional), "out_dir": absolute path of an
            empty folder that receives `parts/*.obj`, "limits": {"max_triangles": int}
            (optional)}.
        progress: Called with (parts_done, parts_total) after each part.
        should_stop: Polled between parts; True stops the segmentation (SegmentStopped, an
            ImportStopped).

    Returns:
        {"parts": [Part dict], "warnings": [str], "found": int}; when more than
        max_parts parts are found, {"parts": [], "warnings": [], "found": n} and no file
        is written. Part meshes and hulls are OBJ files in the asset frame.

    Raises:
        InvalidConfig: the job itself is malformed (a caller bug).
        AssetRejected: the method does not apply to this asset (the reason says why and
            what to try), or a mesh cannot be read. Never a server path.
        PackageTooLarge: the asset has more triangles than `limits.max_triangles`.
        ImportStopped: `should_stop()` returned True.
    """
    from simengine.design import segment  # loads trimesh and CoACD: only a child calls it

    return segment.segment(job, progress=progress, should_stop=should_stop)


def render_preview(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Render a stored robot into a small PNG (see `simengine.imports.preview`).

    `progress` and `should_stop` are accepted for the child's calling convention; one
    frame is too short to report on or stop.
    """
    from simengine.imports import preview  # loads pybullet: only a simulation child calls this

    return preview.render_preview(job)


def warm_spare() -> None:
    """Warm a freshly forked spare child (see `simengine.preload.warm_spare`)."""
    from simengine import preload  # loads pybullet: only a simulation child calls this

    preload.warm_spare()


def list_scenarios() -> list[JSONDict]:
    """Every scenario (Scenario shape), sorted by name."""
    return scenarios.list_scenarios()


def list_profiles() -> list[JSONDict]:
    """Every reality profile (RealityProfile shape), sorted by name."""
    return profiles.list_profiles()


def verify_linkage(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Load a built linkage's URDF with its inertia from the file, base fixed, and drive
    each movable joint to its upper, then its lower limit.

    Args:
        job: {"urdf": absolute path, "steps": int >= 1, "joints": [{"name", "type",
            "lower" | None, "upper" | None}]}.

    Returns:
        A `LinkageVerification` dict: {"loaded", "steps", "finite", "joints": [{"name",
        "moved", "within_limits", "min_position", "max_position"}]}; a URDF PyBullet
        refuses is `loaded: false`, never an exception.
    """
    from simengine.design import verify  # loads pybullet: only a simulation child calls this

    return verify.verify(job, progress=progress, should_stop=should_stop)
