"""The client's concurrency limiter: ``async with limiter.slot(tier):`` bounds requests in flight.

The default is a per-client :class:`SemaphoreLimiter`. An account-wide guard (shared by every client
and process on the same NetSuite account) can be injected instead: anything with an async context
manager ``slot(tier)`` fits :class:`Limiter`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

__all__ = ["Limiter", "SemaphoreLimiter"]


class Limiter(Protocol):
    def slot(self, tier: str = "default") -> contextlib.AbstractAsyncContextManager[None]: ...


class SemaphoreLimiter:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("concurrency limit must be at least 1")
        self.limit = limit
        self._sem = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.max_in_flight = 0

    @contextlib.asynccontextmanager
    async def slot(self, tier: str = "default") -> AsyncIterator[None]:
        async with self._sem:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1
