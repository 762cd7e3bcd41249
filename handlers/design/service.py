"""Segmenting assets, building linkages and exporting them as assets.

A segmentation: the isolated child writes the parts' meshes into a staging folder, this
process stores the document beside them and publishes the folder in one rename. A linkage:
the request is checked here, rule by rule (`simengine.design.linkage`, pure Python), its URDF
written beside copies of the part meshes, checked in a simulation child and, with
`export_urdf`, imported as a new asset through the same checks as any upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handlers.assets.service import AssetFields, AssetService
from handlers.design.children import DesignChildren
from handlers.design.store import DesignStore, Document
from handlers.errors import ValidationFailed
from handlers.kit import caller
from handlers.kit.tasks import to_the_end
from handlers.kit.timestamps import rfc3339
from handlers.settings import Settings
from simengine.design import linkage

URDF_FILE = "robot.urdf"
MESH_FOLDER = "meshes"
EXPORT_FILE = "export.zip"
DEFAULT_VERIFY_STEPS = 240
# Staging older than this many child time limits belongs to no live request.
STAGING_GRACE = 4
# A fixed time for every zip entry, so that the same linkage gives the same package bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Checks a project before anything is created in it: NotFoundError, ConflictError.
ProjectCheck = Callable[[str], None]


class DesignService:
    """Segmentations and linkages of one RUNS_DIR."""

    def __init__(
        self,
        settings: Settings,
        assets: AssetService,
        *,
        children: DesignChildren | None = None,
        clear_staging: bool = True,
    ) -> None:
        self.settings = settings
        self.assets = assets
        self.segmentations = DesignStore(settings.runs_dir, kind="segmentation", prefix="seg_")
        self.linkages = DesignStore(settings.runs_dir, kind="linkage", prefix="lnk_")
        if clear_staging:
            self.segmentations.clear_staging(
                older_than_s=STAGING_GRACE * max(settings.import_timeout_s, 600)
            )
        self._children = children or DesignChildren(settings)

    async def segment(self, request: dict[str, Any]) -> Document:
        """Segment the asset `request` names (a validated `SegmentRequest` as JSON)."""
        asset = self.assets.get(request["asset_id"])
        method = request["method"]
        density = float(request.get("density_kg_m3", 1000.0))
        max_parts = int(request.get("max_parts", 64))
        decomposition = request.get("decomposition", {})
        timeout = float(decomposition.get("timeout_s", 60.0))
        if method != "convex_decomposition":
            timeout = self.settings.import_timeout_s
        identifier = self.segmentations.new_id()
        staging = self.segmentations.stage(identifier)
        job = {
            "asset_dir": str(self.assets.store.files_folder(asset["id"])),
            "main_file": asset["main_file"],
            "format": asset["format"],
            "source_kind": asset["source_kind"],
            "method": method,
            "density_kg_m3": density,
            "max_parts": max_parts,
            "decomposition": {
                "threshold": float(decomposition.get("threshold", 0.05)),
                "max_hulls": decomposition.get("max_hulls"),
                "seed": 0,
            },
            "out_dir": str(staging),
            "limits": {"max_triangles": self.settings.import_max_triangles},
        }

        async def staged() -> Document:
            try:
                output = await self._children.segment(job, timeout_s=timeout)
                found = int(output["found"])
                if found > max_parts:
                    raise ValidationFailed.at(
                        "/max_parts",
                        f"{found} parts were found; max_parts is {max_parts} "
                        f"(raise max_parts to at least {found}, up to 512)",
                    )
                document: Document = {
                    "id": identifier,
                    "asset_id": asset["id"],
                    "asset_sha256": asset["sha256"],
                    "project_id": asset["project_id"],
                    "method": method,
                    "density_kg_m3": density,
                    "parts": output["parts"],
                    "warnings": list(output["warnings"])[:100],
                    "created_at": rfc3339(),
                }
                await asyncio.to_thread(self.segmentations.publish, staging, document)
                return document
            finally:
                self.segmentations.discard(staging)

        return await to_the_end(staged())

    def get_segmentation(self, segmentation_id: str) -> Document:
        """A stored segmentation (404 if unknown)."""
        return _visible(self.segmentations.get(segmentation_id), "segmentation")

    def get_linkage(self, linkage_id: str) -> Document:
        """A stored linkage (404 if unknown)."""
        return _visible(self.linkages.get(linkage_id), "linkage")

    async def link(self, request: dict[str, Any]) -> Document:
        """Build the linkage `request` describes (a validated `LinkageRequest` as JSON)."""
        segmentation = self.get_segmentation(request["segmentation_id"])
        parts = {part["name"]: part for part in segmentation["parts"]}
        issues = linkage.validate(request, parts)
        if issues:
            raise ValidationFailed.for_fields(
                {"location": "body", "pointer": issue.pointer, "reason": issue.detail}
                for issue in issues
            )
        built = linkage.build(request, parts)
        export = bool(request.get("export_urdf", False))
        fields = AssetFields(
            name=request.get("name") or request["robot_name"],
            project_id=segmentation["project_id"],
            format="urdf",
            main_file=URDF_FILE,
            tags=tuple(request.get("tags", ())),
            density_kg_m3=segmentation["density_kg_m3"],
        )
        if export and fields.project_id is not None:
            self.assets.require_project(fields.project_id)  # before any work
        identifier = self.linkages.new_id()
        staging = self.linkages.stage(identifier)
        source = self.segmentations.folder(segmentation["id"])

        async def staged() -> Document:
            try:
                await asyncio.to_thread(_write_linkage, staging, built, source)
                steps = int(request.get("verify", {}).get("steps", DEFAULT_VERIFY_STEPS))
                verification = await self._verify(staging, built, steps) if steps else None
                warnings = list(built.warnings)
                if verification is not None and not verification["loaded"]:
                    warnings.append("PyBullet did not load the built URDF in the check")
                exported = None
                if export:
                    package = staging / EXPORT_FILE
                    try:
                        await asyncio.to_thread(_write_package, staging, package)
                        derived = {
                            "asset_id": segmentation["asset_id"],
                            "segmentation_id": segmentation["id"],
                            "linkage_id": identifier,
                        }
                        asset = await self.assets.import_derived(fields, package, derived)
                    finally:
                        package.unlink(missing_ok=True)
                    exported = asset["id"]
                document: Document = {
                    "id": identifier,
                    "segmentation_id": segmentation["id"],
                    "asset_id": segmentation["asset_id"],
                    "project_id": segmentation["project_id"],
                    "robot_name": request["robot_name"],
                    "root": request["root"],
                    "links": built.links,
                    "joints": built.joints,
                    "dof": built.dof,
                    "total_mass_kg": built.total_mass_kg,
                    "warnings": warnings[:100],
                    "urdf_sha256": hashlib.sha256(built.urdf).hexdigest(),
                    "exported_asset_id": exported,
                    "verification": verification,
                    "created_at": rfc3339(),
                }
                await asyncio.to_thread(self.linkages.publish, staging, document)
                return document
            finally:
                self.linkages.discard(staging)

        return await to_the_end(staged())

    async def _verify(self, folder: Path, built: linkage.Linkage, steps: int) -> dict[str, Any]:
        joints = [
            {
                "name": joint["name"],
                "type": joint["type"],
                "lower": joint["limit"]["lower"] if joint["limit"] else None,
                "upper": joint["limit"]["upper"] if joint["limit"] else None,
            }
            for joint in built.joints
        ]
        job = {"urdf": str(folder / URDF_FILE), "steps": steps, "joints": joints}
        return await self._children.verify(job)


def _visible(document: Document, kind: str) -> Document:
    """`document` if the caller may see it, else the 404 of an unknown id."""
    caller.current().require_visible(document["project_id"], kind, document["id"])
    return document


def _write_linkage(folder: Path, built: linkage.Linkage, source: Path) -> None:
    """The URDF and a copy of every mesh it names, into `folder`."""
    (folder / MESH_FOLDER).mkdir()
    for mesh_file in built.mesh_files:
        shutil.copyfile(source / mesh_file, folder / MESH_FOLDER / os.path.basename(mesh_file))
    (folder / URDF_FILE).write_bytes(built.urdf)


def _write_package(folder: Path, package: Path) -> None:
    """The URDF and its meshes as a zip whose bytes depend only on their content."""
    meshes = sorted(f"{MESH_FOLDER}/{entry.name}" for entry in os.scandir(folder / MESH_FOLDER))
    names = [URDF_FILE, *meshes]
    with zipfile.ZipFile(package, "x", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (folder / name).read_bytes())
