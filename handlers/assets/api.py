"""`/api/assets`: import (upload or server file), list, read, download, preview."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any, BinaryIO

from fastapi import Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from generated.models import (
    Asset,
    AssetFormat,
    AssetImportForm,
    AssetImportRequest,
    AssetList,
)
from handlers.assets.files import CHUNK
from handlers.assets.listing import AssetFilters
from handlers.assets.service import AssetFields, AssetService
from handlers.http.responses import answer_submitted
from handlers.idempotency.keys import IdempotencyStore, StoredResponse, respond_once


class AssetsApi:
    """Implements `generated.protocols.AssetsHandler`."""

    def __init__(self, service: AssetService, idempotency_keys: IdempotencyStore | None) -> None:
        self._service = service
        self._keys = idempotency_keys

    async def import_asset(
        self,
        *,
        body: AssetImportForm,
        files: Mapping[str, UploadFile],
        idempotency_key: str | None,
        response: Response,
    ) -> Asset:
        """Import the uploaded `file` part."""
        upload = files["file"]
        fields = AssetFields.from_form(body.model_dump(mode="json"))
        # The key's fingerprint covers the file: hashed here only when there is a key (the
        # import hashes the bytes again while staging them, for the asset's sha256).
        digest = await asyncio.to_thread(_sha256, upload.file) if idempotency_key else None

        async def first() -> StoredResponse:
            asset = await self._service.import_upload(fields, upload.file, filename=upload.filename)
            return StoredResponse(201, asset, {"Location": _location(asset["id"])})

        request = {**body.model_dump(mode="json", exclude={"file"}), "file_sha256": digest}
        return await self._answer("importAsset", request, first, idempotency_key, response)

    async def import_asset_from_path(
        self, *, body: AssetImportRequest, idempotency_key: str | None, response: Response
    ) -> Asset:
        """Import a file under one of the server's import roots."""
        data = body.model_dump(mode="json")

        async def first() -> StoredResponse:
            asset = await self._service.import_path(
                AssetFields.from_form(data), data["source_path"]
            )
            return StoredResponse(201, asset, {"Location": _location(asset["id"])})

        return await self._answer("importAssetFromPath", data, first, idempotency_key, response)

    async def list_assets(
        self,
        *,
        limit: int,
        project_id: str | None,
        format: AssetFormat | None,
        tag: str | None,
        cursor: str | None,
        response: Response,
    ) -> AssetList:
        """Assets newest first."""
        filters = AssetFilters(
            project_id=project_id, format=format.value if format else None, tag=tag
        )
        items, next_cursor = self._service.list(filters, limit=limit, cursor=cursor)
        return AssetList(items=[Asset.model_validate(i) for i in items], next_cursor=next_cursor)

    async def get_asset(self, *, asset_id: str, response: Response) -> Asset:
        """One asset."""
        return Asset.model_validate(self._service.get(asset_id))

    async def get_asset_package(self, *, asset_id: str, response: Response) -> Response:
        """The canonical files as a zip."""
        path = await self._service.package(asset_id)
        name = f"{asset_id}.zip"
        return FileResponse(path, media_type="application/zip", filename=name)

    async def get_asset_preview(self, *, asset_id: str, response: Response) -> Response:
        """A PNG picture of the asset."""
        path = await self._service.preview(asset_id)
        return FileResponse(path, media_type="image/png")

    async def _answer(
        self,
        operation: str,
        request: dict[str, Any],
        first: Any,
        idempotency_key: str | None,
        response: Response,
    ) -> Asset:
        outcome = await respond_once(
            self._keys, operation=operation, key=idempotency_key, body=request, create=first
        )
        return Asset.model_validate(answer_submitted(response, outcome))


def _sha256(source: BinaryIO) -> str:
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _location(asset_id: str) -> str:
    return f"/api/assets/{asset_id}"
