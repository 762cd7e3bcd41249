"""Operations not built yet: each answers 501 with a problem naming the operation.

Every class here is listed in docs/status.md; the issue that builds an operation
replaces its method with a real one (and moves it out of this module).
"""

from __future__ import annotations

from fastapi import Response

from generated.models import Plan, PlanRequest
from handlers.errors import NotImplementedOperation


class AiNotBuilt:
    """`AiHandler` operations that are not implemented yet."""

    async def create_plan(self, *, body: PlanRequest, response: Response) -> Plan:
        raise NotImplementedOperation("createPlan")
