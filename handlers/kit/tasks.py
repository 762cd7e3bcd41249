"""Work that must finish once started, even when the request awaiting it is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Await `work` so that it finishes even if the awaiting request is cancelled (the
    client went away, the server stops): its child, its publishing rename and the removal
    of its staging folder then still happen in order, never half."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await asyncio.shield(task)
