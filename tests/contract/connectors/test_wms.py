"""WMS connector and simulator over real HTTP: signed webhooks to a tiny receiver that verifies them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailconnect.canonical import (
    CustomerContact,
    Disposition,
    Money,
    Order,
    OrderLine,
    OrderTotals,
    Return,
    ReturnLine,
)
from retailconnect.connectors._kit import MapContext, WarehouseSystem
from retailconnect.connectors.wms import (
    WmsClient,
    WmsWebhookVerifier,
    return_from_wms,
    shipment_from_wms,
    stock_movement_from_wms,
)
from retailconnect.errors import VendorRejectedError, WebhookSignatureError
from retailconnect.resilience import RetryPolicy
from retailconnect.simulators._kit import ServerHandle, start_in_thread
from retailconnect.simulators.wms import WmsSimulator

SECRET = "test-wms-secret"


class Receiver:
    """The hub side, reduced: verify, de-duplicate on the event id, keep the mapped objects."""

    def __init__(self) -> None:
        self.verifier = WmsWebhookVerifier(SECRET)
        self.events: dict[str, dict[str, Any]] = {}
        self.rejected = 0
        self.fail_next = 0
        self.received_at: dict[str, float] = {}
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            delivery = self.verifier.verify(request.headers, raw)
        except WebhookSignatureError:
            self.rejected += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "try later"}, status_code=503)
        self.events.setdefault(delivery.delivery_id, json.loads(raw))
        self.received_at.setdefault(delivery.delivery_id, time.time())
        return JSONResponse({"ok": True})

    def of_type(self, t: str) -> list[dict[str, Any]]:
        return [e for e in self.events.values() if e["type"] == t]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, ServerHandle]]:
    r = Receiver()
    h = start_in_thread(r.app)
    yield r, h
    h.stop()


@pytest.fixture(scope="module")
def sim(receiver: tuple[Receiver, ServerHandle]) -> Iterator[WmsSimulator]:
    s = WmsSimulator({"webhook_secret": SECRET, "webhook_url": receiver[1].url + "/hook", "ship_delay_s": 0.2,
                      "webhook_retry_base_s": 0.05,
                      "return_outcomes": {"MUG-WHITE": {"condition": "damaged", "disposition": "refused"}}})  # fmt: skip
    s.start()
    yield s
    s.stop()


def client(sim: WmsSimulator) -> WmsClient:
    return WmsClient(sim.url, sim.settings["api_key"], retry=RetryPolicy(attempts=4, base_s=0.02, cap_s=0.1))


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def order(number: str) -> Order:
    return Order(number=number, channel="shopify", currency="USD", placed_at=datetime(2026, 11, 20, tzinfo=UTC),
                 customer=CustomerContact(email="j@x.com"),
                 lines=[OrderLine(id="L1", sku="TSHIRT-RED-M", title="T", quantity=2, unit_price=usd("20"),
                                  discount_total=usd("0"), tax_total=usd("0"), line_total=usd("40")),
                        OrderLine(id="L2", sku="MUG-WHITE", title="Mug", quantity=1, unit_price=usd("14"),
                                  discount_total=usd("0"), tax_total=usd("0"), line_total=usd("14"))],
                 totals=OrderTotals(subtotal=usd("54"), discount_total=usd("0"), shipping_total=usd("0"),
                                    tax_total=usd("0"), grand_total=usd("54")))  # fmt: skip


async def wait_for(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_fulfilment_is_idempotent_ships_and_posts_a_signed_webhook(
    sim: WmsSimulator, receiver: tuple[Receiver, ServerHandle]
) -> None:
    rec = receiver[0]
    c = client(sim)
    assert isinstance(c, WarehouseSystem)
    first = await c.request_fulfillment(order("#2001"), external_id="shopify-2001")
    again = await c.request_fulfillment(order("#2001"), external_id="shopify-2001")
    assert first == again
    assert len([f for f in sim.fulfillments.values() if f["external_id"] == "shopify-2001"]) == 1
    await wait_for(
        lambda: any(e["data"]["external_id"] == "shopify-2001" for e in rec.of_type("shipment.dispatched"))
    )
    [event] = [e for e in rec.of_type("shipment.dispatched") if e["data"]["external_id"] == "shopify-2001"]
    shipment = shipment_from_wms(event, MapContext())
    assert shipment.order_number == "#2001" and shipment.tracking_number and shipment.carrier == "UPS"
    assert sorted((ln.sku, ln.quantity) for ln in shipment.lines) == [("MUG-WHITE", 1), ("TSHIRT-RED-M", 2)]
    with pytest.raises(VendorRejectedError) as ei:  # too late to cancel
        await c.cancel_fulfillment(external_id="shopify-2001")
    assert ei.value.context["wms_code"] == "already_shipped"
    await c.cancel_fulfillment(external_id="never-sent")  # nothing to do
    await c.aclose()


async def test_cancel_before_shipping_stops_the_shipment(
    sim: WmsSimulator, receiver: tuple[Receiver, ServerHandle]
) -> None:
    httpx.post(sim.url + "/_sim/settings", json={"ship_delay_s": 0.5})
    c = client(sim)
    await c.request_fulfillment(order("#2002"), external_id="shopify-2002")
    await c.cancel_fulfillment(external_id="shopify-2002")
    await asyncio.sleep(0.8)
    assert not [
        e for e in receiver[0].of_type("shipment.dispatched") if e["data"]["external_id"] == "shopify-2002"
    ]
    assert (await c.get_fulfillment(external_id="shopify-2002") or {})["status"] == "cancelled"
    httpx.post(sim.url + "/_sim/settings", json={"ship_delay_s": 0.2})
    await c.aclose()


async def test_return_inspection_outcomes_per_sku(
    sim: WmsSimulator, receiver: tuple[Receiver, ServerHandle]
) -> None:
    c = client(sim)
    ret = Return(order_number="#2001", rma_number="RMA-1",
                 lines=[ReturnLine(sku="TSHIRT-RED-M", quantity=1), ReturnLine(sku="MUG-WHITE", quantity=1)])  # fmt: skip
    rid = await c.expect_return(ret, external_id="ret-2001-1")
    assert httpx.post(f"{sim.url}/_sim/returns/{rid}/inspect").status_code == 200
    await wait_for(
        lambda: any(e["data"]["external_id"] == "ret-2001-1" for e in receiver[0].of_type("return.inspected"))
    )
    [event] = [e for e in receiver[0].of_type("return.inspected") if e["data"]["external_id"] == "ret-2001-1"]
    inspected = return_from_wms(event, MapContext())
    assert {ln.sku: ln.disposition for ln in inspected.lines} == {
        "TSHIRT-RED-M": Disposition.RESTOCK,
        "MUG-WHITE": Disposition.REFUSED,
    }
    await c.aclose()


async def test_webhook_is_retried_with_the_same_event_id_and_forgeries_are_refused(
    sim: WmsSimulator, receiver: tuple[Receiver, ServerHandle]
) -> None:
    rec = receiver[0]
    rec.fail_next = 2
    ev = httpx.post(
        sim.url + "/_sim/movements", json={"sku": "MUG-WHITE", "kind": "damage", "quantity": -1}
    ).json()
    await wait_for(lambda: ev["id"] in rec.events)
    [d] = [w for w in httpx.get(sim.url + "/_sim/state/webhooks").json() if w["event_id"] == ev["id"]]
    assert d["attempts"] == 3 and d["statuses"] == [503, 503, 200]
    m = stock_movement_from_wms(rec.events[ev["id"]], MapContext())
    assert m.quantity == -1 and m.kind.value == "damage"
    before = rec.rejected
    httpx.post(sim.url + "/_sim/faults", json={"forge_signatures": True})
    httpx.post(sim.url + "/_sim/movements", json={"sku": "MUG-WHITE", "kind": "receipt", "quantity": 3})
    await wait_for(lambda: rec.rejected > before)
    httpx.delete(sim.url + "/_sim/faults")


async def test_movement_stream_at_a_configured_rate_carries_occurred_at(
    sim: WmsSimulator, receiver: tuple[Receiver, ServerHandle]
) -> None:
    rec = receiver[0]
    before = len(rec.of_type("stock.movement"))
    httpx.post(
        sim.url + "/_sim/movements/start", json={"rate_per_s": 40, "skus": ["A", "B"], "duration_s": 0.5}
    )
    await wait_for(lambda: httpx.get(sim.url + "/_sim/state/movement_run").json().get("done"), timeout=3)
    run = httpx.get(sim.url + "/_sim/state/movement_run").json()
    assert 8 <= run["emitted"] <= 22  # 40/s for 0.5 s; the lower bound is loose for a loaded CI box
    await wait_for(lambda: len(rec.of_type("stock.movement")) >= before + run["emitted"])
    new = rec.of_type("stock.movement")[before:]
    lags = [
        rec.received_at[e["id"]] - datetime.fromisoformat(e["data"]["occurred_at"]).timestamp() for e in new
    ]
    assert all(0 <= lag < 5 for lag in lags)
    assert {e["data"]["sku"] for e in new} == {"A", "B"}


async def test_unknown_sku_fault_is_a_business_rejection(sim: WmsSimulator) -> None:
    httpx.post(sim.url + "/_sim/faults", json={"unknown_skus": ["MUG-WHITE"]})
    c = client(sim)
    with pytest.raises(VendorRejectedError) as ei:
        await c.request_fulfillment(order("#2003"), external_id="shopify-2003")
    assert "MUG-WHITE" in ei.value.message and ei.value.context["wms_code"] == "unknown_sku"
    httpx.delete(sim.url + "/_sim/faults")
    await c.aclose()


async def test_bad_api_key_is_refused(sim: WmsSimulator) -> None:
    c = WmsClient(sim.url, "wrong", retry=RetryPolicy(attempts=1))
    from retailconnect.errors import AuthError

    with pytest.raises(AuthError):
        await c.request_fulfillment(order("#2004"), external_id="shopify-2004")
    await c.aclose()
