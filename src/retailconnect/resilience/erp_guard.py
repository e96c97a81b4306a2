"""The ERP guard: what every call to an ERP passes through, whoever makes it.

``await guard.call("post_sales_order", tier, fn)``:

1. the circuit breaker refuses the call while the ERP is failing (``CircuitOpenError``, retryable: the
   flow waits and tries again; the ERP's DBOS queue is paused meanwhile by a breaker listener),
2. the governor reserves a request slot for the account (hard rate limit, across processes, by tier),
3. a per-process semaphore caps calls in flight at the account's concurrency,
4. the outcome is reported to the breaker: transient failures (timeouts, 5xx) count against the ERP, a
   business rejection (4xx) does not.

When the connector's HTTP transport is the guard's :class:`GovernedTransport` (``transport=``, what the
runtime builds), the breaker watches every HTTP request rather than every call: a connector's own retries,
its existence checks and its look-ups (record GETs, SuiteQL) all count, so a failing ERP opens the circuit
after ``failure_threshold`` failed *requests*, and while it is open no request of any kind leaves
(``CircuitOpenError`` at once, no socket opened). Half-open, exactly ``half_open_max_calls`` requests go out as
probes. A connector does not retry a ``CircuitOpenError`` inside its call (see ``resilience.retry``): the
flow's step waits the breaker's ``retry_after`` and tries again, and lookups answer from the cache meanwhile.
So what reaches a failing ERP is bounded: the failures that opened the circuit, what was already in flight
then, and ``half_open_max_calls`` probes per ``reset_after_s``.

Lookups go through :meth:`ErpGuard.lookup`, a read-through TTL cache in front of ``call``.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections import deque
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
    where requests actually leave, so a connector's own retries and look-ups are counted too) and, once
    an :class:`ErpGuard` is attached, passes every request through the guard's circuit breaker.

    The governor spaces *reservations*; a busy event loop can wake several callers late at once and send
    their requests in a bunch. So the transport also keeps the actual send times of the last second and
    never lets more than the account's rate (rounded down) leave this process in any one-second window."""

    def __init__(
        self,
        governor: Governor,
        account_key: str,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.governor = governor
        self.account_key = account_key
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.breaker = breaker
        self.requests = 0
        self.held_back = 0  # requests the open circuit refused before they left
        self.paced_s = 0.0  # time spent keeping late-woken requests inside the one-second window
        self._sent: deque[float] = deque()

    async def _pace(self) -> None:
        rate = self.governor.rate(self.account_key)
        if not rate:
            return
        cap = max(1, math.floor(rate))
        while True:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if len(self._sent) < cap:
                self._sent.append(now)
                return
            delay = self._sent[0] + 1.0 - now
            self.paced_s += delay
            await asyncio.sleep(delay)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        breaker = self.breaker
        if breaker is not None and breaker.state == BreakerState.OPEN:
            self.held_back += 1
            raise _held_back(breaker, request)  # do not even wait for a rate slot
        await self.governor.acquire(self.account_key, _tier.get())
        await self._pace()
        if breaker is None:
            self.requests += 1
            return await self.inner.handle_async_request(request)
        try:
            breaker.before_call()  # it may have opened while we waited; half-open admits the probes
        except CircuitOpenError as exc:
            self.held_back += 1
            exc.context.update(_request_context(request))
            raise
        self.requests += 1
        try:
            response = await self.inner.handle_async_request(request)
        except (httpx.TimeoutException, httpx.TransportError):
            breaker.record_failure()
            raise
        except BaseException:
            breaker.record_neutral()
            raise
        status = response.status_code
        if status >= 500 or status == 408:
            breaker.record_failure()
        elif status == 429:
            breaker.record_neutral()  # up, but asking us to slow down: the governor's business, not the breaker's
        else:
            breaker.record_success()  # an answer, even a business rejection, says the ERP is up
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _request_context(request: httpx.Request) -> dict[str, Any]:
    return {"method": request.method, "path": request.url.path}


def _held_back(breaker: CircuitBreaker, request: httpx.Request) -> CircuitOpenError:
    return CircuitOpenError(
        f"{breaker.name} is failing; request held back",
        context={"system": breaker.name, **_request_context(request)},
        retry_after=max(0.05, breaker.retry_in()),
    )


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
        transport: GovernedTransport | None = None,
    ) -> None:
        """``per_request``: the connector's HTTP transport is a :class:`GovernedTransport`, so the
        governor is applied per request there rather than once per call here. ``transport``: that
        transport; the guard attaches its breaker to it, so the breaker judges every request (implies
        ``per_request``)."""
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
        self.per_request = per_request or transport is not None
        self.transport = transport
        if transport is not None:
            transport.breaker = self.breaker

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

    @property
    def breaker_per_request(self) -> bool:
        return self.transport is not None and self.transport.breaker is self.breaker

    def _held_back(self, op: str) -> CircuitOpenError:
        self.stats.rejected_open += 1
        return CircuitOpenError(
            f"{self.system} is failing; call held back",
            context={"system": self.system, "operation": op},
            retry_after=max(0.05, self.breaker.retry_in()),
        )

    async def call(self, op: str, tier: int, fn: Callable[[], Awaitable[T]]) -> T:
        if self.breaker_per_request:
            # the transport judges (and probes) per request; here only fail fast while it is open
            if self.breaker.state == BreakerState.OPEN:
                raise self._held_back(op)
        else:
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
                raise self._held_back(op)
            self.stats.calls += 1
            self.stats.by_op[op] = self.stats.by_op.get(op, 0) + 1
            started = time.monotonic()
            per_request = self.breaker_per_request
            try:
                if self.limits.call_timeout_s:
                    result = await asyncio.wait_for(fn(), self.limits.call_timeout_s)
                else:
                    result = await fn()
            except RetailConnectError as exc:
                if isinstance(exc, CircuitOpenError):
                    if not per_request:
                        self.breaker.record_neutral()  # our own refusal says nothing about the vendor
                elif exc.retryable:
                    self.stats.failures += 1
                    if not per_request:
                        self.breaker.record_failure()
                elif not per_request:
                    self.breaker.record_success()  # the vendor answered: it is up
                exc.context.setdefault("erp_call_s", round(time.monotonic() - started, 3))
                raise
            except TimeoutError:
                self.stats.failures += 1
                self.breaker.record_failure()  # the request was cancelled: the transport saw no answer
                raise
            except asyncio.CancelledError:
                if not per_request:
                    self.breaker.record_neutral()
                raise
            if not per_request:
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
            "held_back": self.stats.rejected_open + (self.transport.held_back if self.transport else 0),
        }
