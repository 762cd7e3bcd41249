"""The import, stage by stage: stage the upload, make the canonical URDF, check its meshes,
measure it, try it in pybullet. Each stage is in its own module; this is the script."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simengine.assetbase import PackageTooLarge, quoted
from simengine.assets import check_urdf
from simengine.imports import usdstep
from simengine.imports.canonical import canonical_urdf
from simengine.imports.errors import ImportStopped
from simengine.imports.job import ImportJob, parse_job
from simengine.imports.limits import asset_limits
from simengine.imports.measure import measure
from simengine.imports.meshload import LoadedMesh, load_mesh
from simengine.imports.meshonly import import_mesh
from simengine.imports.package import Package
from simengine.imports.staging import Staged, stage
from simengine.imports.trial import trial
from simengine.types import JSONDict

STAGING_FOLDER = "_staging"
USD_FOLDER = "usd"
STAGES = ("unpacking", "converting", "checking meshes", "measuring", "the pybullet trial")


class _Stages:
    """Reports progress after each stage and stops between two when asked."""

    def __init__(
        self,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self._progress, self._should_stop, self._done = progress, should_stop, 0

    def start(self) -> None:
        if self._should_stop is not None and self._should_stop():
            raise ImportStopped(STAGES[self._done])

    def finish(self) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress(self._done, len(STAGES))


def import_asset(
    job: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JSONDict:
    """Turn one uploaded file into a canonical, checked, measured robot in `work_dir`.

    See `simengine.api.import_asset` for the job and result shapes.
    """
    parsed = parse_job(job)
    stages = _Stages(progress, should_stop)
    work_dir = parsed.work_dir
    folder = work_dir / STAGING_FOLDER
    folder.mkdir()
    try:
        stages.start()
        staged = stage(parsed, folder)
        stages.finish()
        stages.start()
        urdf, name, warnings = _canonical(parsed, staged, folder)
        stages.finish()
        stages.start()
        meshes = _checked_meshes(parsed, urdf)
        stages.finish()
    finally:
        # Only the canonical files stay: the caller stores the whole work folder.
        shutil.rmtree(folder, ignore_errors=True)
    stages.start()
    stats, noticed = measure(urdf, meshes)
    stages.finish()
    stages.start()
    check = trial(urdf, steps=parsed.check_steps, lowest_z=stats["bounding_box_m"]["min"][2])
    stages.finish()
    if not check["finite"]:
        noticed.append(
            "the trial's state became non-finite: check the masses, inertias and joint limits"
        )
    return {
        "source_format": staged.family,
        "container": staged.container,
        "source_kind": staged.source_kind,
        "main_file": urdf.name,
        "robot_name": name,
        "stats": stats,
        "warnings": warnings + noticed,
        "check": check,
    }


def _canonical(job: ImportJob, staged: Staged, folder: Path) -> tuple[Path, str, list[str]]:
    """Write the canonical URDF and its files; return it, the robot name and warnings."""
    package = staged.package
    if staged.family == "mesh":
        asset = import_mesh(
            package.root.joinpath(*staged.main.parts),
            kind=staged.source_kind,
            work_dir=job.work_dir,
            name=job.name,
            density=job.density_kg_m3,
            limits=job.limits,
            element=staged.element,
            shown_as=staged.shown,
        )
        return asset.urdf, job.name, asset.warnings
    warnings: list[str] = []
    main = staged.main
    if staged.family == "usd":
        out = folder / USD_FOLDER
        out.mkdir()
        main, warnings = usdstep.convert(
            package.root.joinpath(*main.parts),
            package_root=package.root,
            out_dir=out,
            robot_name=job.name,
            limits=job.limits,
        )
        package = Package(out, tuple(_listing(out)))
    canonical = canonical_urdf(
        main, package=package, work_dir=job.work_dir, limits=job.limits, fallback_name=job.name
    )
    return canonical.urdf, canonical.name, warnings + canonical.warnings


def _checked_meshes(job: ImportJob, urdf: Path) -> dict[str, LoadedMesh]:
    """Check the canonical URDF as a run would, then read each of its meshes with trimesh."""
    summary = check_urdf(urdf, root=job.work_dir, limits=asset_limits(job.limits), physics=True)
    meshes = {
        name: load_mesh(
            job.work_dir / name,
            kind=name.rsplit(".", 1)[-1].lower(),
            element=f"mesh {quoted(name)}",
            limits=job.limits,
        )
        for name in summary.mesh_files
    }
    total = sum(mesh.triangles for mesh in meshes.values())
    if total > job.limits.max_triangles:
        raise PackageTooLarge(
            "package", f"{total} triangles in all; limit {job.limits.max_triangles}"
        )
    return meshes


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
