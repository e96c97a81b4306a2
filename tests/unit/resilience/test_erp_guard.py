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
