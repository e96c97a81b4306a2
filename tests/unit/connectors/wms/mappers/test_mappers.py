from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from retailconnect.canonical import (
    Address,
    CustomerContact,
    Disposition,
    ItemCondition,
    Money,
    MovementKind,
    Order,
    OrderLine,
    OrderTotals,
    Return,
    ReturnLine,
    ReturnStatus,
)
from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.wms import (
    SCHEMAS,
    fulfillment_request_to_wms,
    return_from_wms,
    return_to_wms,
    shipment_from_wms,
    shipment_to_wms,
    stock_movement_from_wms,
    stock_movement_to_wms,
)
from retailconnect.errors import MappingError

FIX = Path(__file__).parents[4] / "fixtures" / "wms"


def load(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def test_shipment_dispatched_to_canonical_and_back() -> None:
    s = shipment_from_wms(load("shipment_dispatched.json"), MapContext())
    assert s.order_number == "#1001" and s.carrier == "UPS" and s.tracking_number == "1Z999AA10123456784"
    assert [(ln.sku, ln.quantity, ln.order_line_id) for ln in s.lines] == [
        ("TSHIRT-RED-M", 2, "L1"),
        ("MUG-WHITE", 1, "L2"),
    ]
    assert s.location == "MAIN" and s.shipped_at == datetime(2026, 11, 21, 9, 14, 40, tzinfo=UTC)
    event = shipment_to_wms(s, MapContext())
    assert not list(Draft202012Validator(SCHEMAS["shipment.dispatched"]).iter_errors(event))
    again = shipment_from_wms(event, MapContext())
    assert (
        again.lines == s.lines
        and again.tracking_number == s.tracking_number
        and again.shipped_at == s.shipped_at
    )


def test_stock_movements_and_cycle_count() -> None:
    m = stock_movement_from_wms(load("stock_movement.json"), MapContext())
    assert (m.sku, m.kind, m.quantity, m.reference) == ("MUG-WHITE", MovementKind.RECEIPT, 24, "PO-7781")
    assert m.occurred_at == datetime(2026, 11, 21, 9, 15, 58, tzinfo=UTC) and m.source_system == "wms"
    c = stock_movement_from_wms(load("stock_cycle_count.json")["data"], MapContext())  # bare data accepted
    assert c.kind == MovementKind.CYCLE_COUNT and c.counted == 57
    back = stock_movement_from_wms(stock_movement_to_wms(c, MapContext()), MapContext())
    assert back.counted == 57 and back.kind == c.kind


def test_return_inspected_carries_condition_and_disposition() -> None:
    r = return_from_wms(load("return_inspected.json"), MapContext())
    assert r.status == ReturnStatus.INSPECTED and r.rma_number == "RMA-1001-1"
    assert [(ln.sku, ln.condition, ln.disposition) for ln in r.lines] == [
        ("TSHIRT-RED-M", ItemCondition.NEW, Disposition.RESTOCK),
        ("MUG-WHITE", ItemCondition.DAMAGED, Disposition.REFUSED),
    ]


def test_invalid_document_is_mapping_error_with_path() -> None:
    doc = load("shipment_dispatched.json")
    doc["data"]["lines"][1]["quantity"] = 0
    with pytest.raises(MappingError) as ei:
        shipment_from_wms(doc, MapContext())
    assert ei.value.context["path"] == "$.data.lines[1].quantity"


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def test_order_to_fulfillment_request_validates_and_skips_non_shippable_lines() -> None:
    order = Order(
        number="#1001", channel="shopify", currency="USD", placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        customer=CustomerContact(email="jane@example.com"),
        shipping_address=Address(first_name="Jane", last_name="Doe", line1="1 Main St", city="Springfield",
                                 region_code="IL", postal_code="62701", country_code="US"),
        lines=[
            OrderLine(id="L1", sku="TSHIRT-RED-M", title="T", quantity=2, unit_price=usd("20"), discount_total=usd("0"),
                      tax_total=usd("0"), line_total=usd("40")),
            OrderLine(id="L2", sku="GIFT-25", title="Gift card", quantity=1, unit_price=usd("25"),
                      discount_total=usd("0"), tax_total=usd("0"), line_total=usd("25"), gift_card=True,
                      requires_shipping=False),
        ],
        totals=OrderTotals(subtotal=usd("65"), discount_total=usd("0"), shipping_total=usd("0"), tax_total=usd("0"),
                           grand_total=usd("65")),
    )  # fmt: skip
    body = fulfillment_request_to_wms(order, MapContext(), external_id="shopify-1001")
    assert [ln["sku"] for ln in body["lines"]] == ["TSHIRT-RED-M"]
    assert body["ship_to"]["name"] == "Jane Doe" and body["ship_to"]["country"] == "US"
    assert not list(Draft202012Validator(SCHEMAS["fulfillment-request"]).iter_errors(body))


def test_return_to_expected_return_request() -> None:
    r = Return(
        order_number="#1001",
        rma_number="RMA-1",
        lines=[ReturnLine(sku="MUG-WHITE", quantity=1, reason="broken")],
    )
    body = return_to_wms(r, MapContext(), external_id="ret-1")
    assert body["external_id"] == "ret-1" and body["lines"][0]["reason"] == "broken"
