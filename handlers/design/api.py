"""`/api/design`: segment, link, read them back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response

from generated.models import LinkageRequest, LinkageResult, Segmentation, SegmentRequest
from handlers.design.service import DesignService
from handlers.http.responses import answer_submitted
from handlers.idempotency.keys import IdempotencyStore, StoredResponse, respond_once


class DesignApi:
    """Implements `generated.protocols.DesignHandler`."""

    def __init__(self, service: DesignService, idempotency_keys: IdempotencyStore | None) -> None:
        self._service = service
        self._keys = idempotency_keys

    async def segment_asset(
        self, *, body: SegmentRequest, idempotency_key: str | None, response: Response
    ) -> Segmentation:
        """Segment an asset into stored parts."""
        request = body.model_dump(mode="json", exclude_unset=True)

        async def first() -> StoredResponse:
            document = await self._service.segment(request)
            location = f"/api/design/segmentations/{document['id']}"
            return StoredResponse(201, document, {"Location": location})

        answer = await self._answer("segmentAsset", request, first, idempotency_key, response)
        return Segmentation.model_validate(answer)

    async def get_segmentation(self, *, segmentation_id: str, response: Response) -> Segmentation:
        """One segmentation."""
        return Segmentation.model_validate(self._service.get_segmentation(segmentation_id))

    async def build_linkage(
        self, *, body: LinkageRequest, idempotency_key: str | None, response: Response
    ) -> LinkageResult:
        """Build (and maybe export) a linkage."""
        request = body.model_dump(mode="json", exclude_unset=True)

        async def first() -> StoredResponse:
            document = await self._service.link(request)
            location = f"/api/design/linkages/{document['id']}"
            return StoredResponse(201, document, {"Location": location})

        answer = await self._answer("buildLinkage", request, first, idempotency_key, response)
        return LinkageResult.model_validate(answer)

    async def get_linkage(self, *, linkage_id: str, response: Response) -> LinkageResult:
        """One linkage."""
        return LinkageResult.model_validate(self._service.get_linkage(linkage_id))

    async def _answer(
        self,
        operation: str,
        request: dict[str, Any],
        first: Callable[[], Awaitable[StoredResponse]],
        idempotency_key: str | None,
        response: Response,
    ) -> Any:
        outcome = await respond_once(
            self._keys, operation=operation, key=idempotency_key, body=request, create=first
        )
        return answer_submitted(response, outcome)
