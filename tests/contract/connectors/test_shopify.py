"""Shopify connector vs the Shopify simulator over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailconnect.canonical import InventoryLevel, Order, Shipment, ShipmentLine
from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.shopify import (
    ShopifyClient,
    ShopifyWebhookVerifier,
    order_from_shopify,
    parse_webhook,
)
from retailconnect.errors import VendorRejectedError
from retailconnect.simulators._kit import ServerHandle, start_in_thread
from retailconnect.simulators.shopify import ShopifySimulator

SECRET = "contract-secret"


@pytest.fixture
def sim() -> Iterator[ShopifySimulator]:
    s = ShopifySimulator({
        "restore_rate": 100000, "maximum": 100000, "webhook_secret": SECRET,
        "webhook_retry_delays": [0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.4, 0.4],
    })  # fmt: skip
    s.start()
    yield s
    s.stop()


def client(sim: ShopifySimulator, **kw: Any) -> ShopifyClient:
    return ShopifyClient(sim.url, sim.token, **kw)


class Receiver:
    """A webhook endpoint that fails the first ``fail_first`` deliveries with 500."""

    def __init__(self, fail_first: int = 0, slow_first_s: float = 0.0) -> None:
        self.fail_first = fail_first
        self.slow_first_s = slow_first_s
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hooks", self.hook, methods=["POST"])])
        self.handle: ServerHandle | None = None

    async def hook(self, request: Request) -> JSONResponse:
        self.calls.append((dict(request.headers), await request.body()))
        if self.slow_first_s and len(self.calls) == 1:
            await asyncio.sleep(self.slow_first_s)
        if len(self.calls) <= self.fail_first:
            return JSONResponse({"error": "boom"}, status_code=500)
        return JSONResponse({"ok": True})

    def __enter__(self) -> Receiver:
        self.handle = start_in_thread(self.app)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.handle is not None
        self.handle.stop()

    @property
    def url(self) -> str:
        assert self.handle is not None
        return self.handle.url + "/hooks"


def wait_for(pred: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_burst_of_1000_calls_sees_only_a_handful_of_throttles() -> None:
    s = ShopifySimulator({"restore_rate": 4000, "maximum": 1000})
    s.start()
    try:
        order = s.state.generate_order(__import__("random").Random(1))
        c = client(s)
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with sem:
                await c.tag_order(str(order["id"]), [f"t{i % 5}"])

        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(1000)))
        elapsed = time.monotonic() - t0
        await c.aclose()
        async with httpx.AsyncClient(base_url=s.url) as h:
            summary = (await h.get("/_sim/requests")).json()["summary"]
        assert summary["graphql_calls"] == 1000 + summary["throttled"]
        assert summary["throttled"] <= 5, summary
        assert c.throttled_answers == summary["throttled"]
        assert c.bucket.restore_rate == 4000 and c.bucket.maximum == 1000  # read at run time
        assert elapsed >= (10 * 1000 - 1000) / 4000 * 0.8  # the bucket really paced the burst
    finally:
        s.stop()


async def test_throttled_answers_are_retried_when_the_client_is_blind() -> None:
    """A second client sharing the shop's bucket cannot see the first one's spend: THROTTLED answers come
    back and are retried until every call succeeds."""
    s = ShopifySimulator({"restore_rate": 2000, "maximum": 200})
    s.start()
    try:
        order = s.state.generate_order(__import__("random").Random(2))
        a, b = client(s), client(s)
        await asyncio.gather(*(x.tag_order(str(order["id"]), ["y"]) for x in (a, b) for _ in range(60)))
        assert s.sim.throttled == a.throttled_answers + b.throttled_answers
        assert a.calls + b.calls == 120 + s.sim.throttled
    finally:
        s.stop()


async def test_set_inventory_over_http_in_batches(sim: ShopifySimulator) -> None:
    sim.state.seed([{"title": "Bulk", "variants": [{"sku": f"B-{i}", "price": "1.00"} for i in range(300)]}])
    c = client(sim)
    n = await c.set_inventory(
        [InventoryLevel(sku=f"B-{i}", location="Main Warehouse", on_hand=i) for i in range(300)]
    )
    async with httpx.AsyncClient(base_url=sim.url) as h:
        inv = (await h.get("/_sim/state/inventory")).json()
    assert n == 300 and inv["batch_sizes"] == [250, 50]
    assert {lv["sku"]: lv["available"] for lv in inv["levels"]}["B-299"] == 299


async def test_fulfillment_with_tracking_lands_in_simulator(sim: ShopifySimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        o = (
            await h.post(
                "/_sim/orders",
                json={
                    "lines": [{"sku": "TEE-BLK-M", "quantity": 2}, {"sku": "TOTE-NAT", "quantity": 1}],
                    "emit": False,
                },
            )
        ).json()
        c = client(sim)
        fid = await c.post_fulfillment(
            Shipment(order_number=o["name"], lines=[ShipmentLine(sku="TEE-BLK-M", quantity=2)], carrier="UPS",
                     tracking_number="1Z999AA10123456784", tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784"),
            order_external_id=str(o["id"]),
        )  # fmt: skip
        state = (await h.get("/_sim/state/fulfillments")).json()
        cheap = (await h.get("/_sim/state/fulfillments", params={"tracking_only": "1"})).json()
        orders = (await h.get("/_sim/state/orders")).json()["orders"]
    assert cheap == {"tracking_by_order": state["tracking_by_order"]}
    assert fid.startswith("gid://shopify/Fulfillment/")
    assert state["tracking_by_order"][str(o["id"])] == ["1Z999AA10123456784"]
    assert state["fulfillments"][0]["tracking_company"] == "UPS"
    assert {o2["id"]: o2["fulfillment_status"] for o2 in orders}[o["id"]] == "partial"
    # a retried step (same tracking number) returns the same fulfillment instead of failing or duplicating
    again = await c.post_fulfillment(
        Shipment(
            order_number=o["name"],
            lines=[ShipmentLine(sku="TEE-BLK-M", quantity=2)],
            tracking_number="1Z999AA10123456784",
        ),
        order_external_id=str(o["id"]),
    )
    assert again == fid and len(sim.state.fulfillments) == 1
    with pytest.raises(VendorRejectedError) as exc:  # more than the order holds
        await c.post_fulfillment(
            Shipment(
                order_number=o["name"], lines=[ShipmentLine(sku="TOTE-NAT", quantity=5)], tracking_number="X2"
            ),
            order_external_id=str(o["id"]),
        )
    assert exc.value.context["excess"] == {"TOTE-NAT": 4} and len(sim.state.fulfillments) == 1


async def test_fulfil_an_order_of_more_lines_than_a_page_at_a_modest_cost(sim: ShopifySimulator) -> None:
    """The fulfillment-order query asks for a page sized for a usual order (requested cost well under
    Shopify's 1000 single-query cap) and follows the line items' cursor for a larger one."""
    lines = [{"sku": "", "title": f"Engraved line {i}", "price": "5.00", "quantity": 1} for i in range(30)]
    async with httpx.AsyncClient(base_url=sim.url) as h:
        o = (await h.post("/_sim/orders", json={"lines": lines, "emit": False})).json()
    c = client(sim)
    fid = await c.post_fulfillment(
        Shipment(
            order_number=o["name"],
            lines=[ShipmentLine(sku="x", quantity=1, order_line_id=str(li["id"])) for li in o["line_items"]],
            tracking_number="T-30",
        ),
        order_external_id=str(o["id"]),
    )
    assert fid.startswith("gid://shopify/Fulfillment/")
    assert len(sim.state.fulfillments[0]["line_items"]) == 30
    assert c._op_cost["fulfillmentOrders"] <= 300
    assert "fulfillmentOrderLines" in c._op_cost  # the second page of line items


async def test_fulfil_a_line_without_sku_by_its_line_id(sim: ShopifySimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        o = (
            await h.post(
                "/_sim/orders",
                json={
                    "lines": [{"sku": "", "title": "Custom engraving", "price": "5.00", "quantity": 1}],
                    "emit": False,
                },
            )
        ).json()
    line_id = str(o["line_items"][0]["id"])
    fid = await client(sim).post_fulfillment(
        Shipment(
            order_number=o["name"],
            lines=[ShipmentLine(sku="custom", quantity=1, order_line_id=line_id)],
            tracking_number="T-1",
        ),
        order_external_id=str(o["id"]),
    )
    assert fid.startswith("gid://shopify/Fulfillment/")
    assert sim.state.fulfillments[0]["line_items"][0]["line_item_id"] == int(line_id)


async def test_orders_updated_since_follows_cursors_and_feeds_the_webhook_mapper(
    sim: ShopifySimulator,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    async with httpx.AsyncClient(base_url=sim.url) as h:
        made = (
            await h.post("/_sim/orders/generate", json={"count": 7, "seed": 11, "emit": False, "full": True})
        ).json()["orders"]
    c = client(sim)
    got = [o async for o in c.orders_updated_since(before, page_size=3)]
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in made)
    assert len([r for r in sim.log.items() if r.method == "POST"]) == 3  # 3 pages of 3, 3, 1
    by_id = {o["id"]: o for o in made}
    skip = {"id", "extra", "updated_at"}
    for pulled in got:  # a pulled order and its webhook map to the same canonical order (same capture key)
        a = order_from_shopify(pulled, MapContext())
        b = order_from_shopify(by_id[pulled["id"]], MapContext())
        assert a.model_dump(mode="json", exclude=skip) == b.model_dump(mode="json", exclude=skip)
        assert a.external_refs == {"shopify": str(pulled["id"])} and a.totals_mismatch is None
    assert [o async for o in c.orders_updated_since(datetime.now(UTC) + timedelta(hours=1))] == []


async def test_429_and_5xx_faults_are_retried(sim: ShopifySimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        await h.post(
            "/_sim/faults", json={"throttle_rate": 0.3, "retry_after_s": 0.05, "error_rate": 0.2, "seed": 5}
        )
    order = sim.state.generate_order(__import__("random").Random(4))
    c = client(sim)
    for i in range(20):
        await c.tag_order(str(order["id"]), [f"f{i}"])
    statuses = [r.status for r in sim.log.items()]
    assert 429 in statuses and any(s >= 500 for s in statuses)
    assert len(sim.state.order_summary(sim.state.orders[order["id"]])["tags"]) == 20


def test_webhook_delivery_signed_and_retried_on_500(sim: ShopifySimulator) -> None:
    with Receiver(fail_first=2) as rx:
        httpx.post(
            sim.url + "/_sim/webhooks", json={"topic": "orders/create", "address": rx.url}
        ).raise_for_status()
        made = httpx.post(sim.url + "/_sim/orders/generate", json={"count": 1, "seed": 3}).json()["orders"][0]
        wait_for(lambda: len(rx.calls) >= 3)
        deliveries = httpx.get(sim.url + "/_sim/webhooks").json()["deliveries"]
    assert len(rx.calls) == 3
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 500, 200] and deliveries[0]["delivered"]
    verifier = ShopifyWebhookVerifier(SECRET)
    ids = set()
    for headers, body in rx.calls:
        d = verifier.verify(headers, body)
        ids.add(d.delivery_id)
        assert d.topic == "orders/create" and d.api_version == "2025-01" and d.occurred_at is not None
    assert len(ids) == 1  # retries carry the same X-Shopify-Webhook-Id
    order = parse_webhook("orders/create", json.loads(rx.calls[-1][1]), MapContext())
    assert isinstance(order, Order) and order.external_refs["shopify"] == str(made["id"])
    assert order.totals_mismatch is None


def test_webhook_not_answered_in_time_counts_as_failed_and_is_retried() -> None:
    s = ShopifySimulator(
        {"webhook_secret": SECRET, "webhook_timeout_s": 0.3, "webhook_retry_delays": [0.05, 0.05]}
    )
    s.start()
    try:
        with Receiver(slow_first_s=0.6) as rx:
            httpx.post(
                s.url + "/_sim/webhooks", json={"topic": "orders/create", "address": rx.url}
            ).raise_for_status()
            httpx.post(
                s.url + "/_sim/orders", json={"lines": [{"sku": "TEE-BLK-M", "quantity": 1}]}
            ).raise_for_status()
            wait_for(
                lambda: any(d["delivered"] for d in httpx.get(s.url + "/_sim/webhooks").json()["deliveries"])
            )
            attempts = httpx.get(s.url + "/_sim/webhooks").json()["deliveries"][0]["attempts"]
        assert attempts[0]["status"] is None and "0.3 s" in attempts[0]["error"]
        assert attempts[-1]["status"] == 200
    finally:
        s.stop()


def test_duplicate_and_dropped_webhook_faults(sim: ShopifySimulator) -> None:
    with Receiver() as rx:
        httpx.post(
            sim.url + "/_sim/webhooks", json={"topic": "orders/create", "address": rx.url}
        ).raise_for_status()
        httpx.post(sim.url + "/_sim/faults", json={"duplicate_webhook_rate": 1.0}).raise_for_status()
        httpx.post(sim.url + "/_sim/orders/generate", json={"count": 2, "seed": 1})
        wait_for(lambda: len(rx.calls) >= 4)
        ids = [h["x-shopify-webhook-id"] for h, _ in rx.calls]
        assert len(ids) == 4 and len(set(ids)) == 2
        httpx.post(sim.url + "/_sim/faults", json={"drop_webhook_rate": 1.0}).raise_for_status()
        httpx.post(sim.url + "/_sim/orders/generate", json={"count": 3, "seed": 2})
        time.sleep(0.3)
        deliveries = httpx.get(sim.url + "/_sim/webhooks").json()["deliveries"]
    assert len(rx.calls) == 4
    assert sum(1 for d in deliveries if d["dropped"]) == 3


def test_reordered_webhooks_arrive_out_of_order(sim: ShopifySimulator) -> None:
    with Receiver() as rx:
        httpx.post(
            sim.url + "/_sim/webhooks", json={"topic": "orders/create", "address": rx.url}
        ).raise_for_status()
        httpx.post(
            sim.url + "/_sim/faults", json={"reorder_webhooks": True, "reorder_window_s": 0.4, "seed": 3}
        ).raise_for_status()
        made = httpx.post(sim.url + "/_sim/orders/generate", json={"count": 8, "seed": 4}).json()["orders"]
        wait_for(lambda: len(rx.calls) >= 8)
    arrived = [json.loads(body)["id"] for _, body in rx.calls]
    assert sorted(arrived) == sorted(o["id"] for o in made)
    assert arrived != [o["id"] for o in made]


async def test_graphql_webhook_subscription_and_fulfillment_webhook(sim: ShopifySimulator) -> None:
    with Receiver() as rx:
        c = client(sim)
        data = await c.execute(
            """mutation Sub($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
                   webhookSubscription { id topic } userErrors { field message } } }""",
            {"topic": "FULFILLMENTS_CREATE", "sub": {"callbackUrl": rx.url, "format": "JSON"}},
        )
        assert data["webhookSubscriptionCreate"]["userErrors"] == []
        o = sim.state.generate_order(__import__("random").Random(9))
        li = next(x for x in o["line_items"] if x["requires_shipping"])
        await c.post_fulfillment(
            Shipment(order_number=o["name"], lines=[ShipmentLine(sku=li["sku"], quantity=li["quantity"])], carrier="DHL", tracking_number="JD0001"),
            order_external_id=str(o["id"]),
        )  # fmt: skip
        await asyncio.to_thread(wait_for, lambda: len(rx.calls) >= 1)
    headers, body = rx.calls[0]
    d = ShopifyWebhookVerifier(SECRET).verify(headers, body)
    shipment = parse_webhook(d.topic, json.loads(body))
    assert isinstance(shipment, Shipment) and shipment.tracking_number == "JD0001"


async def test_refund_moves_money_against_the_sale_and_maps_back(sim: ShopifySimulator) -> None:
    from decimal import Decimal

    from retailconnect.canonical import Money, Refund, RefundLine
    from retailconnect.connectors.shopify import refund_from_shopify
    from retailconnect.errors import VendorRejectedError

    async with httpx.AsyncClient(base_url=sim.url) as h:
        o = (
            await h.post("/_sim/orders", json={"lines": [{"sku": "JKT-DNM-L", "quantity": 2}], "emit": False})
        ).json()
    line_id = str(o["line_items"][0]["id"])
    c = client(sim)
    refund = Refund(
        order_number=o["name"], currency="USD", reason="too big",
        lines=[RefundLine(order_line_id=line_id, sku="JKT-DNM-L", quantity=1, amount=Money.of("89.00", "USD"), restock=True)],
        total=Money.of("89.00", "USD"),
    )  # fmt: skip
    rid = await c.refund(refund, order_external_id=str(o["id"]))
    async with httpx.AsyncClient(base_url=sim.url) as h:
        refunds = (await h.get("/_sim/state/refunds")).json()["refunds"]
        orders = (await h.get("/_sim/state/orders")).json()["orders"]
    assert rid == f"gid://shopify/Refund/{refunds[0]['id']}"
    assert [t["amount"] for t in refunds[0]["transactions"]] == ["89.00"]
    assert refunds[0]["refund_line_items"][0]["restock_type"] == "return"
    assert {x["id"]: x["financial_status"] for x in orders}[o["id"]] == "partially_refunded"
    ctx = MapContext()
    back = refund_from_shopify(refunds[0], ctx)  # the refunds/create body the simulator sends
    assert back.total.amount == Decimal("89.00") and back.lines[0].sku == "JKT-DNM-L" and ctx.warnings == []
    assert await c.refund(refund, order_external_id=str(o["id"])) == rid  # a retried step refunds once
    assert len(sim.state.refunds) == 1
    too_much = Refund(order_number=o["name"], currency="USD", total=Money.of("500.00", "USD"))
    with pytest.raises(VendorRejectedError):
        await c.refund(too_much, order_external_id=str(o["id"]))
