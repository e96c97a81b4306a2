import asyncio

import pytest

from retailconnect.errors import TransientError, VendorRejectedError
from retailconnect.resilience import TTLCache


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


async def test_read_through_with_ttl_and_single_flight():
    clock = Clock()
    cache = TTLCache(10, clock=clock)
    calls = 0

    async def load():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "CUST-1"

    results = await asyncio.gather(*[cache.get("a@x", load) for _ in range(5)])
    assert {r.value for r in results} == {"CUST-1"} and calls == 1
    assert (await cache.get("a@x", load)).hit
    clock.t = 11
    await cache.get("a@x", load)
    assert calls == 2


async def test_stale_value_served_when_the_erp_is_down_but_not_on_business_errors():
    clock = Clock()
    cache = TTLCache(1, clock=clock)

    async def ok():
        return 7

    async def down():
        raise TransientError("ERP down")

    async def rejected():
        raise VendorRejectedError("no such item")

    await cache.get("k", ok)
    clock.t = 5
    res = await cache.get("k", down)
    assert res.value == 7 and res.stale
    with pytest.raises(VendorRejectedError):
        await cache.get("k", rejected)
    with pytest.raises(TransientError):
        await cache.get("other", down)
