"""NetSuiteClient against the simulator in-process (httpx.ASGITransport) and MockTransport."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from retailconnect.canonical import CustomerContact, Money, Order, OrderLine, OrderTotals
from retailconnect.connectors._kit import ErpSystem
from retailconnect.connectors.netsuite import NetSuiteAuth, NetSuiteClient
from retailconnect.errors import InputError, RateLimitError, VendorRejectedError
from retailconnect.resilience import RetryPolicy
from retailconnect.simulators.netsuite import NetSuiteSimulator

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05)


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def order(number: str = "1001", skus: tuple[str, ...] = ("SKU-1",), email: str = "a@x.com") -> Order:
    lines = [
        OrderLine(sku=s, title=s, quantity=1, unit_price=usd("10.00"), discount_total=usd("0"),
                  tax_total=usd("0"), line_total=usd("10.00"))
        for s in skus
    ]  # fmt: skip
    total = usd(str(10 * len(skus)))
    return Order(number=number, channel="shopify", currency="USD", placed_at=datetime(2026, 11, 1, tzinfo=UTC),
                 customer=CustomerContact(email=email), lines=lines,
                 totals=OrderTotals(subtotal=total, discount_total=usd("0"), shipping_total=usd("0"),
                                    tax_total=usd("0"), grand_total=total))  # fmt: skip


def make(sim: NetSuiteSimulator, **kw: Any) -> NetSuiteClient:
    s = sim.settings
    auth = NetSuiteAuth(
        s["account_id"], s["consumer_key"], s["consumer_secret"], s["token_id"], s["token_secret"]
    )
    kw.setdefault("retry", FAST)
    return NetSuiteClient(
        s["account_id"], "http://ns.test", auth, transport=httpx.ASGITransport(app=sim.app), **kw
    )


@pytest.fixture
def sim() -> NetSuiteSimulator:
    items = [{"sku": f"SKU-{i}", "price": "10.00"} for i in range(1, 26)]
    return NetSuiteSimulator({"items": items, "customers": [{"email": "a@x.com", "firstName": "A", "lastName": "B"},
                                                              {"email": "hold@x.com", "creditHold": True}]})  # fmt: skip


async def test_client_is_an_erp_system(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    assert isinstance(c, ErpSystem) and c.system == "netsuite"
    await c.aclose()


async def test_suiteql_pages_with_limit_offset_and_stable_order(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    rows = await c.suiteql_all("SELECT id, itemid, displayname, isinactive FROM item ORDER BY id", limit=10)
    assert len(rows) == 25
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 25
    queries = [r.query for r in sim.log.items("/services/rest/query/v1/suiteql")]
    assert queries == ["limit=10&offset=0", "limit=10&offset=10", "limit=10&offset=20"]
    with pytest.raises(InputError):
        await c.suiteql_all("SELECT id FROM item")  # no ORDER BY: refused before any request
    await c.aclose()


async def test_lookups_and_item_cache(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    assert await c.lookup_customer("A@X.com") is not None
    assert await c.lookup_customer("nobody@x.com") is None
    item = await c.lookup_item("SKU-3")
    assert item is not None and item.sku == "SKU-3" and item.active
    before = len(sim.log.items("/services/rest/query"))
    assert (await c.lookup_item("SKU-3")) == item
    assert len(sim.log.items("/services/rest/query")) == before  # served from the cache
    assert await c.lookup_item("NOPE") is None
    assert await c.lookup_price("SKU-3") == usd("10.00")
    await c.aclose()


async def test_upsert_twice_is_one_record_created_then_updated(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    first = await c.post_sales_order(order(), external_id="shopify-1001", customer_id=cid)
    second = await c.post_sales_order(order(), external_id="shopify-1001", customer_id=cid)
    assert first.created and not second.created and first.internal_id == second.internal_id
    [so] = sim.state.sales_orders_view()
    assert so["created_count"] == 1 and so["updated_count"] == 1 and len(so["lines"]) == 1
    await c.aclose()


async def test_upsert_without_probe_is_one_put_per_post_and_still_one_record(sim: NetSuiteSimulator) -> None:
    """``probe_upserts=False`` (the hub's setting): no GET by external id before the PUT, the id from the
    PUT's Location; a repeat is still an update of the same record, never a second one."""
    c = make(sim, probe_upserts=False)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    await c.lookup_item("SKU-1")  # warm the item cache: what follows is the posting alone
    before = len(sim.log.items("/services/rest/record"))
    first = await c.post_sales_order(order(), external_id="shopify-2001", customer_id=cid)
    second = await c.post_sales_order(order(), external_id="shopify-2001", customer_id=cid)
    made = sim.log.items("/services/rest/record")[before:]
    assert [r.method for r in made] == ["PUT", "PUT"]
    assert first.internal_id == second.internal_id
    [so] = sim.state.sales_orders_view()
    assert so["created_count"] == 1 and so["updated_count"] == 1 and len(so["lines"]) == 1
    await c.aclose()


async def test_order_edit_replaces_lines_and_cancel_closes_them(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    await c.post_sales_order(order(skus=("SKU-1", "SKU-2")), external_id="e1", customer_id=cid)
    res = await c.update_sales_order(order(skus=("SKU-2",)), external_id="e1")
    assert not res.created
    [so] = sim.state.sales_orders_view()
    assert [ln["sku"] for ln in so["lines"]] == ["SKU-2"]
    await c.cancel_sales_order(external_id="e1")
    [so] = sim.state.sales_orders_view()
    assert so["status"] == "Closed" and all(ln["isClosed"] for ln in so["lines"])
    await c.cancel_sales_order(external_id="never-posted")  # nothing to do, no error
    await c.aclose()


async def test_credit_hold_is_a_readable_business_error(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    cid = await c.lookup_customer("hold@x.com")
    assert cid
    with pytest.raises(VendorRejectedError) as ei:
        await c.post_sales_order(order(email="hold@x.com"), external_id="e2", customer_id=cid)
    assert "credit hold" in ei.value.message and "order 1001" in ei.value.message
    assert ei.value.context["netsuite_code"] == "USER_ERROR" and ei.value.context["order_number"] == "1001"
    assert not ei.value.retryable
    await c.aclose()


async def test_unknown_sku_and_rejected_sku_name_the_sku(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    with pytest.raises(VendorRejectedError) as ei:
        await c.post_sales_order(order(skus=("SKU-1", "GHOST")), external_id="e3", customer_id=cid)
    assert ei.value.context["sku"] == "GHOST" and "GHOST" in ei.value.message
    sim.faults["plan"] = __import__("retailconnect.simulators._kit", fromlist=["FaultPlan"]).FaultPlan(
        extra={"reject_skus": {"SKU-2": "Item SKU-2 is discontinued."}}
    )
    with pytest.raises(VendorRejectedError) as ei2:
        await c.post_sales_order(order(skus=("SKU-1", "SKU-2")), external_id="e4", customer_id=cid)
    assert ei2.value.context["sku"] == "SKU-2" and "discontinued" in ei2.value.message
    assert sim.state.sales_orders_view() == []
    await c.aclose()


async def test_fulfillment_payment_return_and_credit(sim: NetSuiteSimulator) -> None:
    from retailconnect.canonical import (
        Refund,
        RefundKind,
        RefundLine,
        Return,
        ReturnLine,
        Shipment,
        ShipmentLine,
    )

    adj = sim.state.add_item({"sku": "REFUND-ADJUSTMENT"})
    c = make(sim, settings={"refund_item_id": adj["id"]})
    cid = await c.lookup_customer("a@x.com")
    assert cid
    await c.post_sales_order(order(skus=("SKU-1", "SKU-2")), external_id="so-1", customer_id=cid)
    ship = Shipment(order_number="1001", lines=[ShipmentLine(sku="SKU-1", quantity=1)], tracking_number="1Z1")
    f1 = await c.post_fulfillment(ship, order_external_id="so-1", external_id="ship-1")
    f2 = await c.post_fulfillment(ship, order_external_id="so-1", external_id="ship-1")
    assert f1.created and not f2.created and f1.internal_id == f2.internal_id
    assert len(sim.state.records_view("itemFulfillment")) == 1
    [so] = sim.state.sales_orders_view()
    assert so["status"] == "Partially Fulfilled"
    p = await c.post_payment(usd("20.00"), order_external_id="so-1", external_id="pay-1", reference="ch_1")
    assert p.created and sim.state.records_view("customerPayment")[0]["payment"] == usd("20.00").amount
    ra = await c.post_return_authorization(
        Return(order_number="1001", lines=[ReturnLine(sku="SKU-1", quantity=1)]),
        order_external_id="so-1",
        external_id="ra-1",
    )
    assert ra.created and sim.state.records_view("returnAuthorization")[0]["createdFrom"]["id"] == so["id"]
    refund = Refund(kind=RefundKind.CREDIT_MEMO, order_number="1001", currency="USD", total=usd("12.00"),
                    lines=[RefundLine(sku="SKU-1", quantity=1, amount=usd("10.00"))], shipping=usd("2.00"))  # fmt: skip
    cm = await c.post_credit(refund, order_external_id="so-1", external_id="cm-1")
    [memo] = sim.state.records_view("creditMemo")
    assert cm.created and memo["total"] == usd("12.00").amount and len(memo["item"]["items"]) == 2
    await c.aclose()


async def test_429_body_is_retried_with_backoff_then_succeeds() -> None:
    calls = []
    body = {"type": "https://tools.ietf.org/html/rfc6585#section-4", "title": "Too Many Requests", "status": 429,
            "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.",
                                "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) <= 2:
            return httpx.Response(429, content=json.dumps(body).encode())
        return httpx.Response(200, json={"links": [], "count": 0, "hasMore": False, "items": [], "offset": 0,
                                         "totalResults": 0})  # fmt: skip

    c = NetSuiteClient(
        "123", "http://ns.test", None, concurrency_limit=2, transport=httpx.MockTransport(handler), retry=FAST
    )
    assert await c.lookup_customer("x@y.z") is None
    assert len(calls) == 3
    await c.aclose()

    calls.clear()
    c2 = NetSuiteClient("123", "http://ns.test", None, concurrency_limit=2,
                        transport=httpx.MockTransport(lambda r: httpx.Response(429, content=json.dumps(body).encode())),
                        retry=RetryPolicy(attempts=3, base_s=0.01, cap_s=0.02))  # fmt: skip
    with pytest.raises(RateLimitError) as ei:
        await c2.lookup_customer("x@y.z")
    assert "Concurrent request limit exceeded" in ei.value.message
    await c2.aclose()


async def test_concurrency_limit_read_from_governance_else_default(sim: NetSuiteSimulator) -> None:
    sim.settings["concurrency_limit"] = 7
    c = make(sim)
    assert await c.concurrency_limit() == 7
    await c.lookup_item("SKU-1")
    assert getattr(c.limiter, "limit", None) == 7
    await c.aclose()
    sim.settings["governance_readable"] = False
    c2 = make(sim)
    assert await c2.concurrency_limit() is None
    await c2.lookup_item("SKU-1")
    assert getattr(c2.limiter, "limit", None) == 5
    await c2.aclose()


async def test_external_ids_are_made_netsuite_safe_deterministically(sim: NetSuiteSimulator) -> None:
    from retailconnect.connectors.netsuite.client import safe_external_id

    raw = "order:acme:shopify:1001"
    safe = safe_external_id(raw)
    assert safe.startswith("order_acme_shopify_1001-") and safe_external_id(safe) == safe
    assert safe_external_id("order_acme_shopify_1001") != safe  # no collision with the look-alike
    c = make(sim)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    r1 = await c.post_sales_order(order(), external_id=raw, customer_id=cid)
    r2 = await c.post_sales_order(order(), external_id=raw, customer_id=cid)
    assert r1.created and not r2.created
    [so] = sim.state.sales_orders_view()
    assert so["externalId"] == safe
    assert (await c.read_order(raw)) is not None
    await c.aclose()


async def test_invoice_transform_is_idempotent_and_sales_orders_list(sim: NetSuiteSimulator) -> None:
    c = make(sim)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    for n in range(3):
        await c.post_sales_order(order(number=str(n)), external_id=f"so-{n}", customer_id=cid)
    inv1 = await c.post_invoice(order_external_id="so-0", external_id="inv-0")
    inv2 = await c.post_invoice(order_external_id="so-0", external_id="inv-0")
    assert inv1.created and not inv2.created and len(sim.state.records_view("invoice")) == 1
    rows = [r async for r in c.iter_sales_orders(page_size=2)]
    assert [r["externalid"] for r in rows] == ["so-0", "so-1", "so-2"]
    await c.aclose()
