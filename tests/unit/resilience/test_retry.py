from __future__ import annotations

import random
import time

import pytest

from retailconnect.errors import RateLimitError, TransientError, VendorRejectedError
from retailconnect.resilience import RetryPolicy, backoff_seconds, run_with_retry


async def test_retries_retryable_errors_until_success() -> None:
    calls = 0

    async def fn() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("flaky")
        return "ok"

    assert await run_with_retry(fn, RetryPolicy(attempts=5, base_s=0.001, cap_s=0.002)) == "ok"
    assert calls == 3


async def test_business_errors_are_not_retried() -> None:
    calls = 0

    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise VendorRejectedError("credit hold")

    with pytest.raises(VendorRejectedError):
        await run_with_retry(fn, RetryPolicy(attempts=5, base_s=0.001))
    assert calls == 1


async def test_gives_up_after_attempts_and_reraises_last_error() -> None:
    calls = 0

    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise TransientError(f"down {calls}")

    with pytest.raises(TransientError, match="down 3"):
        await run_with_retry(fn, RetryPolicy(attempts=3, base_s=0.001, cap_s=0.001))


async def test_retry_after_is_honoured() -> None:
    calls = []

    async def fn() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RateLimitError("429", retry_after=0.2)
        return "ok"

    await run_with_retry(fn, RetryPolicy(attempts=2, base_s=0.001, cap_s=0.001))
    assert calls[1] - calls[0] >= 0.2


def test_backoff_is_jittered_and_capped() -> None:
    pol = RetryPolicy(base_s=0.5, cap_s=2.0)
    rng = random.Random(1)
    waits = [backoff_seconds(n, pol, None, rng) for n in range(1, 10) for _ in range(20)]
    assert max(waits) <= 2.0 and min(waits) >= 0.0
    assert len({round(w, 6) for w in waits}) > 50  # jitter, not a fixed ladder
    assert backoff_seconds(1, pol, RateLimitError("x", retry_after=3.0), rng) >= 3.0
