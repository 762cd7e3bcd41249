"""ChildSlots: at most N holders; the next waits, then gets a 503 with Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from handlers.errors import ServiceUnavailable
from handlers.kit.slots import ChildSlots


def test_a_busy_slot_is_a_503_naming_the_kind_and_a_free_one_is_taken() -> None:
    async def scenario() -> None:
        slots = ChildSlots(1, wait_s=0.05, what="design")
        async with slots.slot():
            with pytest.raises(ServiceUnavailable) as refused:
                async with slots.slot():
                    pass
        assert "All 1 design slots" in refused.value.detail
        assert refused.value.headers["Retry-After"] == "1"
        async with slots.slot():  # released on exit, so free again
            pass

    asyncio.run(scenario())
