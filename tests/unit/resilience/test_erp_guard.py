import httpx
import pytest

from retailconnect.errors import CircuitOpenError, TransientError, VendorRejectedError
from retailconnect.resilience import ErpGuard, Governor, GuardLimits
from retailconnect.resilience.erp_guard import GovernedTransport, current_tier


async def test_transient_failures_open_the_breaker_business_errors_do_not():
    guard = ErpGuard("netsuite", "ns:1", GuardLimits(rps=1000, failure_threshold=2, reset_after_s=60))

    async def rejected():
        raise VendorRejectedError("credit hold")

    async def down():
        raise TransientError("503")

    for _ in range(3):
        with pytest.raises(VendorRejectedError):
            await guard.call("post_sales_order", 1, rejected)
    assert str(guard.breaker.state) == "closed"
    for _ in range(2):
        with pytest.raises(TransientError):
            await guard.call("post_sales_order", 1, down)
    assert str(guard.breaker.state) == "open"
    with pytest.raises(CircuitOpenError):
        await guard.call("post_sales_order", 1, down)
    assert guard.stats.failures == 2


async def test_governed_transport_takes_a_slot_per_request_with_the_callers_tier():
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(current_tier())
        return httpx.Response(200, json={"ok": True})

    gov = Governor()
    guard = ErpGuard("netsuite", "ns:1", GuardLimits(rps=1000), governor=gov, per_request=True)
    transport = GovernedTransport(gov, "ns:1", httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=transport, base_url="http://erp") as client:

        async def two_requests():
            await client.get("/a")
            await client.get("/b")
            return "done"

        assert await guard.call("lookup_item", 3, two_requests) == "done"
    assert transport.requests == 2 and seen == [3, 3]
    assert gov.granted == {3: 2}


class _Vendor:
    """An ERP stand-in behind httpx's MockTransport: 503 while ``down``; counts what reached it."""

    def __init__(self) -> None:
        self.down = False
        self.hits: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(f"{request.method} {request.url.path}")
        return httpx.Response(503 if self.down else 200, json={"id": "7"})


async def _connector_call(client: httpx.AsyncClient, path: str) -> str:
    """What a connector does: its own retries of transient answers (RetryPolicy), an error per status."""
    from retailconnect.connectors._kit import classify_response
    from retailconnect.resilience import RetryPolicy, run_with_retry

    async def once() -> str:
        resp = await client.get(path)
        err = classify_response(resp, system="netsuite", operation="get")
        if err is not None:
            raise err
        return str(resp.json()["id"])

    return await run_with_retry(once, RetryPolicy(attempts=6, base_s=0.001, cap_s=0.002))


async def test_breaker_on_the_transport_holds_back_every_request_of_a_failing_erp():
    """Attached to the transport, the breaker counts failed *requests* (a connector's own retries too) and,
    once open, no request leaves at all, reads included; lookups answer from the cache meanwhile. What
    reaches the failing ERP: the failures that opened it plus one probe per reset interval."""
    import asyncio

    vendor = _Vendor()
    gov = Governor()
    transport = GovernedTransport(gov, "ns:1", httpx.MockTransport(vendor.handle))
    limits = GuardLimits(rps=1000, failure_threshold=3, reset_after_s=0.2)
    guard = ErpGuard("netsuite", "ns:1", limits, governor=gov, transport=transport)
    assert guard.per_request and transport.breaker is guard.breaker
    async with httpx.AsyncClient(transport=transport, base_url="http://erp") as client:
        cached = await guard.lookup("item", "SKU-1", lambda: _connector_call(client, "/item/1"))
        assert cached.value == "7" and not cached.stale
        guard.cache.put(("item", "SKU-1"), "7", ttl_s=0)  # expired: the next lookup asks the ERP
        vendor.down = True
        vendor.hits.clear()
        with pytest.raises(CircuitOpenError):  # 3 failed attempts open it; the 4th is held back
            await guard.call("post_sales_order", 1, lambda: _connector_call(client, "/so"))
        assert len(vendor.hits) == 3 and str(guard.breaker.state) == "open"
        for _ in range(20):
            with pytest.raises(CircuitOpenError):
                await guard.call("post_sales_order", 1, lambda: _connector_call(client, "/so"))
        stale = await guard.lookup("item", "SKU-1", lambda: _connector_call(client, "/item/1"))
        assert stale.value == "7" and stale.stale
        assert len(vendor.hits) == 3  # nothing more reached the ERP, reads included
        await asyncio.sleep(0.25)  # half-open: one probe goes out, fails, the circuit opens again
        with pytest.raises(CircuitOpenError):
            await guard.call("post_sales_order", 1, lambda: _connector_call(client, "/so"))
        assert len(vendor.hits) == 4 and str(guard.breaker.state) == "open"
        vendor.down = False
        await asyncio.sleep(0.25)
        assert await guard.call("post_sales_order", 1, lambda: _connector_call(client, "/so")) == "7"
        assert str(guard.breaker.state) == "closed" and len(vendor.hits) == 5
    assert guard.snapshot()["held_back"] >= 21  # 20 calls at the door, 1+ request at the transport


async def test_a_429_does_not_open_the_breaker_on_the_transport():
    answers = iter([429] * 10 + [200])
    gov = Governor()
    transport = GovernedTransport(
        gov, "ns:1", httpx.MockTransport(lambda r: httpx.Response(next(answers), json={"id": "1"}))
    )
    guard = ErpGuard(
        "netsuite", "ns:1", GuardLimits(rps=1000, failure_threshold=2), governor=gov, transport=transport
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://erp") as client:
        for _ in range(10):
            assert (await client.get("/x")).status_code == 429
        assert str(guard.breaker.state) == "closed"
        assert (await client.get("/x")).status_code == 200


async def test_a_stalled_loop_does_not_bunch_requests_beyond_the_rate():
    """The governor spaces reservations at 1/rate; a loop that stalls wakes several callers at once. The
    transport keeps the actual send times inside the rate for every one-second window."""
    import asyncio
    import time

    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        return httpx.Response(200, json={})

    gov = Governor()
    gov.configure("ns:1", 10.0)
    transport = GovernedTransport(gov, "ns:1", httpx.MockTransport(handler))

    async def stall() -> None:
        await asyncio.sleep(0.3)
        time.sleep(0.6)  # the loop is busy elsewhere: every request due meanwhile wakes late

    async with httpx.AsyncClient(transport=transport, base_url="http://erp") as client:
        await asyncio.gather(stall(), *(client.get(f"/r/{i}") for i in range(25)))
    busiest = max(sum(1 for t in sent if s <= t < s + 1.0) for s in sent)
    assert len(sent) == 25 and busiest <= 10, busiest
    assert transport.paced_s > 0  # it had to hold some back
