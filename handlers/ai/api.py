"""`/api/ai`: make a plan, read it back."""

from __future__ import annotations

from fastapi import Response

from generated.models import Plan, PlanRequest
from handlers.ai.service import PlanService
from handlers.http.responses import answer_submitted
from handlers.idempotency.keys import IdempotencyStore, StoredResponse, respond_once


class AiApi:
    """Implements `generated.protocols.AiHandler`."""

    def __init__(self, service: PlanService, idempotency_keys: IdempotencyStore | None) -> None:
        self._service = service
        self._keys = idempotency_keys

    async def create_plan(
        self, *, body: PlanRequest, idempotency_key: str | None, response: Response
    ) -> Plan:
        """Make and store a plan (nothing is executed)."""
        request = body.model_dump(mode="json", exclude_unset=True)

        async def first() -> StoredResponse:
            document = await self._service.create(request)
            return StoredResponse(201, document, {"Location": f"/api/ai/plans/{document['id']}"})

        outcome = await respond_once(
            self._keys, operation="createPlan", key=idempotency_key, body=request, create=first
        )
        return Plan.model_validate(answer_submitted(response, outcome))

    async def get_plan(self, *, plan_id: str, response: Response) -> Plan:
        """One stored plan."""
        return Plan.model_validate(self._service.get(plan_id))
