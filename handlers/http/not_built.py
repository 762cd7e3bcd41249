"""Operations not built yet: each answers 501 with a problem naming the operation.

Every class here is listed in docs/status.md; the issue that builds an operation
replaces its method with a real one (and moves it out of this module).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from starlette.datastructures import UploadFile

from generated.models import (
    Asset,
    AssetFormat,
    AssetImportForm,
    AssetImportRequest,
    AssetList,
    LinkageRequest,
    LinkageResult,
    Plan,
    PlanRequest,
    Project,
    ProjectCreate,
    ProjectList,
    ProjectUpdate,
    SegmentRequest,
    SegmentResult,
)
from handlers.errors import NotImplementedOperation


class ProjectsNotBuilt:
    """`ProjectsHandler` operations that are not implemented yet."""

    async def list_projects(
        self,
        *,
        limit: int,
        tag: str | None,
        include_archived: bool,
        cursor: str | None,
        response: Response,
    ) -> ProjectList:
        raise NotImplementedOperation("listProjects")

    async def get_project(self, *, project_id: str, response: Response) -> Project:
        raise NotImplementedOperation("getProject")

    async def update_project(
        self, *, body: ProjectUpdate, project_id: str, response: Response
    ) -> Project:
        raise NotImplementedOperation("updateProject")

    async def create_project(
        self, *, body: ProjectCreate, idempotency_key: str | None, response: Response
    ) -> Project:
        raise NotImplementedOperation("createProject")


class AssetsNotBuilt:
    """`AssetsHandler` operations that are not implemented yet."""

    async def import_asset(
        self,
        *,
        body: AssetImportForm,
        files: Mapping[str, UploadFile],
        idempotency_key: str | None,
        response: Response,
    ) -> Asset:
        raise NotImplementedOperation("importAsset")

    async def import_asset_from_path(
        self, *, body: AssetImportRequest, idempotency_key: str | None, response: Response
    ) -> Asset:
        raise NotImplementedOperation("importAssetFromPath")

    async def get_asset(self, *, asset_id: str, response: Response) -> Asset:
        raise NotImplementedOperation("getAsset")

    async def get_asset_package(self, *, asset_id: str, response: Response) -> Response:
        raise NotImplementedOperation("getAssetPackage")

    async def get_asset_preview(self, *, asset_id: str, response: Response) -> Response:
        raise NotImplementedOperation("getAssetPreview")

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
        raise NotImplementedOperation("listAssets")


class DesignNotBuilt:
    """`DesignHandler` operations that are not implemented yet."""

    async def segment_asset(self, *, body: SegmentRequest, response: Response) -> SegmentResult:
        raise NotImplementedOperation("segmentAsset")

    async def build_linkage(self, *, body: LinkageRequest, response: Response) -> LinkageResult:
        raise NotImplementedOperation("buildLinkage")


class AiNotBuilt:
    """`AiHandler` operations that are not implemented yet."""

    async def create_plan(self, *, body: PlanRequest, response: Response) -> Plan:
        raise NotImplementedOperation("createPlan")
