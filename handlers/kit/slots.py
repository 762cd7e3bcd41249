"""A few isolated children at once: a request waits a while for a slot, then gets a 503."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from handlers.errors import ServiceUnavailable


class ChildSlots:
    """At most `count` children of one kind (imports, design work) in this process."""

    def __init__(self, count: int, *, wait_s: float, what: str) -> None:
        self._count = count
        self._wait_s = wait_s
        self._what = what
        self._semaphore = asyncio.Semaphore(count)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot; ServiceUnavailable (with Retry-After) after waiting `wait_s`."""
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self._wait_s)
        except TimeoutError:
            raise ServiceUnavailable(
                f"All {self._count} {self._what} slots of this server are busy; retry later.",
                retry_after_s=max(1, round(self._wait_s)),
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()
