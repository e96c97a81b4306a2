"""The ERP guard: what every call to an ERP passes through, whoever makes it.

``await guard.call("post_sales_order", tier, fn)``:

1. the circuit breaker refuses the call while the ERP is failing (``CircuitOpenError``, retryable: the
   flow waits and tries again; the ERP's DBOS queue is paused meanwhile by a breaker listener),
2. the governor reserves a request slot for the account (hard rate limit, across processes, by tier),
3. a per-process semaphore caps calls in flight at the account's concurrency,
4. the outcome is reported to the breaker: transient failures (timeouts, 5xx, 429) count against the
   ERP, a business rejection (4xx) does not.

Lookups go through :meth:`ErpGuard.lookup`, a read-through TTL cache in front of ``call``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from retailconnect.errors import CircuitOpenError, RetailConnectError

from .breaker import BreakerState, CircuitBreaker
from .cache import CacheResult, TTLCache
from .governor import Governor

__all__ = ["ErpGuard", "GovernedTransport", "GuardLimits", "current_tier"]

_tier: contextvars.ContextVar[int] = contextvars.ContextVar("retailconnect_tier", default=1)


def current_tier() -> int:
    return _tier.get()


class GovernedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that takes one governor slot per HTTP request (the hard vendor limit, applied
    where requests actually leave, so a connector's own retries and look-ups are counted too)."""

    def __init__(
        self, governor: Governor, account_key: str, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.governor = governor
        self.account_key = account_key
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.governor.acquire(self.account_key, _tier.get())
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


T = TypeVar("T")


@dataclass(frozen=True)
class GuardLimits:
    rps: float = 10.0  # the vendor's (or configured) request rate
    headroom: float = 0.9  # share of it we use
    concurrency: int = 5
    failure_threshold: int = 5
    reset_after_s: float = 15.0
    half_open_max_calls: int = 1
    cache_ttl_s: float = 300.0
    call_timeout_s: float | None = None

    @property
    def effective_rps(self) -> float:
        return self.rps * self.headroom


@dataclass
class GuardStats:
    calls: int = 0
    failures: int = 0
    rejected_open: int = 0
    by_op: dict[str, int] = field(default_factory=dict)


class ErpGuard:
    def __init__(
        self,
        system: str,
        account_key: str,
        limits: GuardLimits,
        *,
        governor: Governor | None = None,
        breaker: CircuitBreaker | None = None,
        cache: TTLCache | None = None,
        per_request: bool = False,
    ) -> None:
        """``per_request``: the connector's HTTP transport is a :class:`GovernedTransport`, so the
        governor is applied per request there rather than once per call here."""
        self.system = system
        self.account_key = account_key
        self.limits = limits
        self.governor = governor or Governor()
        self.governor.configure(account_key, limits.effective_rps)
        self.breaker = breaker or CircuitBreaker(
            system,
            failure_threshold=limits.failure_threshold,
            reset_after_s=limits.reset_after_s,
            half_open_max_calls=limits.half_open_max_calls,
        )
        self.cache = cache or TTLCache(limits.cache_ttl_s)
        self._sem = asyncio.Semaphore(limits.concurrency)
        self._concurrency = limits.concurrency
        self.stats = GuardStats()
        self.per_request = per_request

    def set_vendor_limits(self, *, rps: float | None = None, concurrency: int | None = None) -> None:
        """Limits the vendor announced at run time (they replace the configured ones)."""
        if rps:
            self.governor.set_rate(self.account_key, rps * self.limits.headroom)
        if concurrency and concurrency != self._concurrency:
            self._sem = asyncio.Semaphore(concurrency)
            self._concurrency = concurrency

    @property
    def concurrency(self) -> int:
        return self._concurrency

    async def call(self, op: str, tier: int, fn: Callable[[], Awaitable[T]]) -> T:
        self.breaker.before_call()
        token = _tier.set(tier)
        try:
            return await self._call(op, tier, fn)
        finally:
            _tier.reset(token)

    async def _call(self, op: str, tier: int, fn: Callable[[], Awaitable[T]]) -> T:
        if not self.per_request:
            await self.governor.acquire(self.account_key, tier)
        async with self._sem:
            # the breaker may have opened while we waited for the slot
            if self.breaker.state == BreakerState.OPEN:
                self.stats.rejected_open += 1
                raise CircuitOpenError(
                    f"{self.system} is failing; call held back",
                    context={"system": self.system, "operation": op},
                    retry_after=max(0.05, self.breaker.retry_in()),
                )
            self.stats.calls += 1
            self.stats.by_op[op] = self.stats.by_op.get(op, 0) + 1
            started = time.monotonic()
            try:
                if self.limits.call_timeout_s:
                    result = await asyncio.wait_for(fn(), self.limits.call_timeout_s)
                else:
                    result = await fn()
            except RetailConnectError as exc:
                if exc.retryable and not isinstance(exc, CircuitOpenError):
                    self.stats.failures += 1
                    self.breaker.record_failure()
                else:
                    self.breaker.record_success()  # the vendor answered: it is up
                exc.context.setdefault("erp_call_s", round(time.monotonic() - started, 3))
                raise
            except TimeoutError:
                self.stats.failures += 1
                self.breaker.record_failure()
                raise
            except asyncio.CancelledError:
                self.breaker.record_neutral()
                raise
            self.breaker.record_success()
            return result

    async def lookup(
        self, op: str, key: Hashable, fn: Callable[[], Awaitable[T]], *, tier: int = 1
    ) -> CacheResult[T]:
        """A cached lookup: fresh from cache, else one guarded call; stale value if the ERP is down."""
        return await self.cache.get((op, key), lambda: self.call(op, tier, fn))

    def snapshot(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "breaker": str(self.breaker.state),
            "opened_total": self.breaker.opened_total,
            "calls": self.stats.calls,
            "failures": self.stats.failures,
            "rate_rps": self.governor.rate(self.account_key),
            "concurrency": self._concurrency,
            "cache_entries": len(self.cache),
        }
