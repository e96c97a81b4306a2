"""Read-through TTL cache for ERP lookups (customers, items, prices).

``await cache.get(key, loader)`` answers from memory while the entry is fresh, else calls ``loader`` once
(concurrent callers for the same key share that call). When the loader fails with a retryable error and a
stale entry exists, the stale value is served and flagged (``stale=True``), so a lookup keeps working
while the ERP is down.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from retailconnect.errors import RetailConnectError

__all__ = ["CacheResult", "TTLCache"]

T = TypeVar("T")


@dataclass(frozen=True)
class CacheResult(Generic[T]):
    value: T
    stale: bool
    hit: bool


class TTLCache:
    def __init__(
        self, ttl_s: float = 300.0, *, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        self.stale_served = 0

    def __len__(self) -> int:
        return len(self._data)

    def peek(self, key: Hashable) -> tuple[Any, bool] | None:
        """(value, fresh) without loading, or None."""
        item = self._data.get(key)
        if item is None:
            return None
        return item[1], self._clock() < item[0]

    def put(self, key: Hashable, value: Any, ttl_s: float | None = None) -> None:
        self._data[key] = (self._clock() + (self.ttl_s if ttl_s is None else ttl_s), value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def invalidate(self, key: Hashable | None = None) -> None:
        if key is None:
            self._data.clear()
        else:
            self._data.pop(key, None)

    async def get(
        self, key: Hashable, loader: Callable[[], Awaitable[T]], *, ttl_s: float | None = None
    ) -> CacheResult[T]:
        item = self._data.get(key)
        now = self._clock()
        if item is not None and now < item[0]:
            self.hits += 1
            return CacheResult(item[1], stale=False, hit=True)
        self.misses += 1
        fut = self._inflight.get(key)
        if fut is not None:
            return CacheResult(await asyncio.shield(fut), stale=False, hit=False)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._inflight[key] = fut
        try:
            value = await loader()
        except RetailConnectError as exc:
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # mark retrieved
            if exc.retryable and item is not None:
                self.stale_served += 1
                return CacheResult(item[1], stale=True, hit=True)
            raise
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()
            raise
        finally:
            self._inflight.pop(key, None)
        if not fut.done():
            fut.set_result(value)
        self.put(key, value, ttl_s)
        return CacheResult(value, stale=False, hit=False)
