"""Retry policy for vendor calls, decided by ``RetailConnectError.retryable`` only (STYLE.md B6).

``retry_transient(...)`` returns a tenacity ``AsyncRetrying`` that retries retryable errors of our tree
with full-jitter exponential backoff, honouring an error's ``retry_after`` (a vendor's Retry-After) as the
minimum wait. ``run_with_retry(fn, policy)`` is the one-call form::

    result = await run_with_retry(lambda: client.get(...), RetryPolicy(attempts=4))

A ``CircuitOpenError`` is retryable for the *caller* (the flow's step waits its ``retry_after`` and tries
again) but is not retried *inside* a vendor call: our own breaker refused the request because the vendor is
failing, and retrying at once would only queue more requests for the next probe.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base

from retailconnect.errors import CircuitOpenError, RetailConnectError

__all__ = ["RetryPolicy", "backoff_seconds", "is_retryable", "retry_transient", "run_with_retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    base_s: float = 0.2  # first backoff ceiling
    cap_s: float = 10.0  # longest single wait
    max_elapsed_s: float | None = None  # give up after this long in total
    max_retry_after_s: float = 60.0  # never wait longer than this for a vendor's Retry-After


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetailConnectError) and exc.retryable


def _retry_within_call(exc: BaseException) -> bool:
    return is_retryable(exc) and not isinstance(exc, CircuitOpenError)


def backoff_seconds(
    attempt: int, policy: RetryPolicy, exc: BaseException | None = None, rng: Any = None
) -> float:
    """Full-jitter exponential backoff for retry number ``attempt`` (1-based); at least ``retry_after``."""
    rnd = rng or random
    ceiling = min(policy.cap_s, policy.base_s * (2 ** max(0, attempt - 1)))
    wait = rnd.uniform(0, ceiling)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        wait = max(wait, min(float(retry_after), policy.max_retry_after_s) + rnd.uniform(0, policy.base_s))
    return wait


def retry_transient(
    policy: RetryPolicy | None = None,
    *,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """A tenacity ``AsyncRetrying`` for retryable errors of our tree (re-raises the last error)."""
    pol = policy or RetryPolicy()

    def _wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff_seconds(state.attempt_number, pol, exc)

    stop: stop_base = stop_after_attempt(pol.attempts)
    if pol.max_elapsed_s is not None:
        stop = stop | stop_after_delay(pol.max_elapsed_s)
    return AsyncRetrying(
        retry=retry_if_exception(_retry_within_call),
        wait=_wait,
        stop=stop,
        reraise=True,
        before_sleep=on_retry,
    )


async def run_with_retry(fn: Callable[[], Awaitable[T]], policy: RetryPolicy | None = None) -> T:
    """Call ``fn`` until it succeeds, raises a non-retryable error, or the policy gives up."""
    async for attempt in retry_transient(policy):
        with attempt:
            return await fn()
    raise AssertionError("unreachable")  # pragma: no cover - reraise=True always raises
