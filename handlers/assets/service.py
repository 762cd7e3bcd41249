"""Importing, listing and serving assets; resolving an asset id for a run.

An import: the upload is copied into a staging folder while its SHA-256 is taken, the
isolated child turns it into canonical files (`handlers.assets.importer`), this process
hashes what the child wrote and publishes the folder in one rename. A refusal, a crash or
a limit removes the staging folder: nothing is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from handlers.assets.files import CHUNK, inventory, write_package
from handlers.assets.importer import Importer, ImportRequest
from handlers.assets.listing import AssetFilters, page
from handlers.assets.store import AssetDocument, AssetStore, ResolvedAsset, Staging, new_asset_id
from handlers.errors import (
    AssetRefused,
    InternalError,
    NotFoundError,
    PayloadTooLarge,
    ValidationFailed,
)
from handlers.kit import caller
from handlers.kit.paths import EXAMPLES_DIR
from handlers.kit.tasks import to_the_end
from handlers.kit.timestamps import rfc3339
from handlers.settings import Settings
from simengine.assets import AssetRejected, PackageTooLarge, resolve_server_file

# Staging older than this many import time limits belongs to no live import.
STAGING_GRACE = 4
PACKAGE_FILE = "package.zip"
PREVIEW_FILE = "preview.png"
# Checks a project before anything is imported into it: NotFoundError, ConflictError.
ProjectCheck = Callable[[str], None]
# (done, total): bytes staged, then the import child's stages (see `import_upload`).
ImportProgress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class AssetFields:
    """The form or JSON fields of an import, whichever operation received them."""

    name: str
    project_id: str | None
    format: str | None
    main_file: str | None
    tags: tuple[str, ...]
    density_kg_m3: float

    @classmethod
    def from_form(cls, data: Mapping[str, Any]) -> AssetFields:
        """The fields of a validated `AssetImportForm` or `AssetImportRequest` (as JSON)."""
        return cls(
            name=data["name"].strip() or data["name"],
            project_id=data.get("project_id"),
            format=data.get("format"),
            main_file=data.get("main_file"),
            tags=tuple(data.get("tags", ())),
            density_kg_m3=float(data.get("density_kg_m3", 1000.0)),
        )


class AssetService:
    """Assets of one RUNS_DIR."""

    def __init__(
        self,
        settings: Settings,
        *,
        importer: Importer | None = None,
        check_project: ProjectCheck | None = None,
        clear_staging: bool = True,
    ) -> None:
        """`clear_staging`: remove what interrupted imports left, once they are older than
        any import may run (other servers and `qers assets import` may share RUNS_DIR and
        be importing now)."""
        self.settings = settings
        self.store = AssetStore(settings.runs_dir)
        if clear_staging:
            self.store.clear_staging(older_than_s=STAGING_GRACE * settings.import_timeout_s)
        self._importer = importer or Importer(settings)
        self._check_project = check_project
        # One package build and one preview render per asset at a time (in this process).
        self._locks: dict[str, asyncio.Lock] = {}

    async def import_upload(
        self,
        fields: AssetFields,
        upload: BinaryIO,
        *,
        filename: str | None,
        on_progress: ImportProgress | None = None,
    ) -> AssetDocument:
        """Import the bytes of `upload` (a file object positioned anywhere).

        `on_progress` is called with (bytes_staged, bytes_total) while the upload is copied,
        from a worker thread, the last of these calls with bytes_staged == bytes_total; then
        with (stages_done, stages_total) by the import child, on the event loop.
        """
        self.require_project(fields.project_id)
        asset_id = new_asset_id()
        staging = self.store.stage(asset_id)

        async def staged() -> AssetDocument:
            try:
                digest = await asyncio.to_thread(self._copy, upload, staging.upload, on_progress)
                return await self._import(
                    asset_id, staging, fields, digest, filename=filename, on_progress=on_progress
                )
            finally:
                self.store.discard(staging)

        return await to_the_end(staged())

    async def import_path(self, fields: AssetFields, source_path: str) -> AssetDocument:
        """Import a file under an import root of this server (e.g. `examples/...`)."""
        self.require_project(fields.project_id)
        return await self._import_file(fields, self._server_file(source_path))

    async def import_derived(
        self, fields: AssetFields, package: Path, derived_from: dict[str, str]
    ) -> AssetDocument:
        """Import a zip package this server wrote (a linkage's URDF and meshes), checked
        like any upload; the asset records what it was `derived_from`."""
        self.require_project(fields.project_id)
        return await self._import_file(fields, package, derived_from=derived_from)

    async def _import_file(
        self, fields: AssetFields, source: Path, *, derived_from: dict[str, str] | None = None
    ) -> AssetDocument:
        asset_id = new_asset_id()
        staging = self.store.stage(asset_id)

        async def staged() -> AssetDocument:
            try:
                with open(source, "rb") as handle:
                    digest = await asyncio.to_thread(self._copy, handle, staging.upload)
                return await self._import(
                    asset_id,
                    staging,
                    fields,
                    digest,
                    filename=source.name,
                    derived_from=derived_from,
                )
            finally:
                self.store.discard(staging)

        return await to_the_end(staged())

    def get(self, asset_id: str) -> AssetDocument:
        """The asset, if the caller may see it (404 if unknown or not)."""
        document = self.store.get(asset_id)
        caller.current().require_visible(document["project_id"], "asset", asset_id)
        return document

    def list(
        self, filters: AssetFilters, *, limit: int, cursor: str | None
    ) -> tuple[list[AssetDocument], str | None]:
        """One page of assets, newest first."""
        filters = dataclasses.replace(filters, projects=caller.current().listing())
        return page(self.store.all(), filters, limit=limit, cursor=cursor)

    def resolve(self, asset_id: str) -> ResolvedAsset:
        """The asset's canonical URDF, for a run (404 if unknown)."""
        document = self.get(asset_id)
        root = self.store.files_folder(asset_id)
        return ResolvedAsset(asset_id, root / document["main_file"], root, document["sha256"])

    async def package(self, asset_id: str) -> Path:
        """A zip of the asset's canonical files (made once: assets never change)."""
        document = self.get(asset_id)
        path = self.store.folder(asset_id) / PACKAGE_FILE
        async with self._locks.setdefault(f"package:{asset_id}", asyncio.Lock()):
            if not path.exists():
                await asyncio.to_thread(
                    write_package, self.store.files_folder(asset_id), document["files"], path
                )
        return path

    async def preview(self, asset_id: str) -> Path:
        """The asset's picture, rendered in a child on first request and cached."""
        resolved = self.resolve(asset_id)
        path = self.store.folder(asset_id) / PREVIEW_FILE
        lock = self._locks.setdefault(f"preview:{asset_id}", asyncio.Lock())
        async with lock:
            if not path.exists():
                partial = path.with_name(f".{PREVIEW_FILE}.{os.getpid()}")
                partial.unlink(missing_ok=True)
                try:
                    await self._importer.render(resolved.urdf, partial)
                    os.replace(partial, path)
                finally:
                    partial.unlink(missing_ok=True)
        return path

    def count_in_project(self, project_id: str) -> int:
        """How many assets `project_id` holds."""
        return self.store.count_in_project(project_id)

    async def _import(
        self,
        asset_id: str,
        staging: Staging,
        fields: AssetFields,
        digest: str,
        *,
        filename: str | None,
        on_progress: ImportProgress | None = None,
        derived_from: dict[str, str] | None = None,
    ) -> AssetDocument:
        request = ImportRequest(
            filename=filename,
            format=fields.format,
            main_file=fields.main_file,
            density_kg_m3=fields.density_kg_m3,
            name=fields.name,
        )
        report = await self._importer.run(
            request, source=staging.upload, work=staging.work, on_progress=on_progress
        )
        files = await asyncio.to_thread(inventory, staging.work)
        if report.get("main_file") not in {f["path"] for f in files}:
            raise InternalError.unexpected()  # the child broke its promise
        document: AssetDocument = {
            "id": asset_id,
            "project_id": fields.project_id,
            "name": fields.name,
            "format": report["source_format"],
            "source_kind": report["source_kind"],
            "container": report["container"],
            "sha256": digest,
            "main_file": report["main_file"],
            "files": files,
            "size_bytes": sum(f["size_bytes"] for f in files),
            "stats": report["stats"],
            "warnings": list(report["warnings"])[:256],
            "check": report["check"],
            "tags": list(dict.fromkeys(fields.tags)),
            "derived_from": derived_from,
            "created_at": rfc3339(),
        }
        self.require_project(fields.project_id)  # archived while the import ran
        await asyncio.to_thread(self.store.publish, staging, document)
        return document

    def _copy(
        self, source: BinaryIO, target: Path, on_progress: ImportProgress | None = None
    ) -> str:
        """Copy `source` into `target` (a new file), counting bytes; its SHA-256."""
        limit = self.settings.max_upload_bytes
        digest, size = hashlib.sha256(), 0
        total = source.seek(0, os.SEEK_END)
        source.seek(0)
        with open(target, "xb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge.over_limit(limit)
                digest.update(chunk)
                out.write(chunk)
                if on_progress is not None and size < total:
                    on_progress(size, total)
        if size == 0:
            raise AssetRefused("file: the upload is empty")
        if on_progress is not None:
            on_progress(size, size)  # the end, even if the file changed size meanwhile
        return digest.hexdigest()

    def _server_file(self, source_path: str) -> Path:
        """`source_path` as a regular file under an import root; 422 naming the rule."""
        try:
            return resolve_server_file(
                source_path, allowed_roots=[EXAMPLES_DIR], max_bytes=self.settings.max_upload_bytes
            )
        except PackageTooLarge as exc:
            raise PayloadTooLarge(f"The file exceeds a limit of this server: {exc.reason}") from exc
        except AssetRejected as exc:
            raise ValidationFailed.at("/source_path", exc.reason) from exc

    def require_project(self, project_id: str | None) -> None:
        """Refuse no project from a caller bound to some, a project that does not exist or
        is archived (ValidationFailed, NotFoundError, ConflictError)."""
        caller.current().require_named(project_id)
        if project_id is not None and self._check_project is None:
            raise NotFoundError.resource("project", project_id)
        if project_id is not None and self._check_project is not None:
            self._check_project(project_id)
