"""Answer synchronous lookups (price check, customer lookup, availability) within a latency budget.

Per key, at most one call to the hub is in flight (request coalescing: a hundred callers asking the same
price while the ERP is slow cause one ERP call, not a hundred). When that call does not answer within the
budget, or fails, the last good answer is served marked stale (``X-RetailConnect-Stale: true`` and
``Age``). The slow call keeps running in the background and refreshes the cache when it lands.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from retailconnect.errors import RetailConnectError, TransientError

__all__ = ["CacheAnswer", "StaleCache", "UpstreamTimeoutError"]

T = TypeVar("T")


class UpstreamTimeoutError(TransientError):
    code = "upstream_timeout"
    http_status = 504
    title = "Upstream did not answer in time"


@dataclass(frozen=True)
class CacheAnswer(Generic[T]):
    value: T
    stale: bool
    age_s: float


@dataclass
class _Entry:
    value: Any
    stored: float
    stale: bool


class StaleCache:
    def __init__(self, *, fresh_s: float = 0.0, max_age_s: float = 86_400.0, size: int = 50_000) -> None:
        self.fresh_s = fresh_s
        self.max_age_s = max_age_s
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[tuple[Any, bool]]] = {}
        self.calls = 0  # upstream calls made (tests assert coalescing)

    def _store(self, key: str, value: Any, stale: bool) -> None:
        self._entries[key] = _Entry(value, time.monotonic(), stale)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def _start(self, key: str, fetch: Callable[[], Awaitable[tuple[Any, bool]]]) -> asyncio.Future[Any]:
        fut = self._inflight.get(key)
        if fut is not None:
            return fut
        self.calls += 1

        async def run() -> tuple[Any, bool]:
            try:
                value, stale = await fetch()
                if not stale or key not in self._entries:
                    self._store(key, value, stale)
                return value, stale
            finally:
                self._inflight.pop(key, None)

        task: asyncio.Future[tuple[Any, bool]] = asyncio.ensure_future(run())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "never retrieved"
        self._inflight[key] = task
        return task

    async def get(
        self, key: str, fetch: Callable[[], Awaitable[tuple[T, bool]]], *, budget_s: float
    ) -> CacheAnswer[T]:
        """``fetch`` returns ``(value, stale)`` (the hub may itself answer from its own cache)."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and not entry.stale and now - entry.stored <= self.fresh_s:
            return CacheAnswer(entry.value, False, now - entry.stored)
        fut = self._start(key, fetch)
        try:
            value, stale = await asyncio.wait_for(asyncio.shield(fut), timeout=budget_s)
            return CacheAnswer(value, stale, 0.0)
        except (TimeoutError, RetailConnectError) as exc:
            if isinstance(exc, RetailConnectError) and not exc.retryable:
                raise
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() - entry.stored <= self.max_age_s:
                return CacheAnswer(entry.value, True, time.monotonic() - entry.stored)
            if isinstance(exc, RetailConnectError):
                raise
            raise UpstreamTimeoutError(
                f"no answer within {budget_s * 1000:.0f} ms and nothing cached for this key",
                context={"budget_ms": round(budget_s * 1000)},
            ) from None
