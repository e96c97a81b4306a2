from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from retailconnect.canonical import (
    Address,
    CustomerContact,
    Money,
    Order,
    OrderLine,
    OrderTotals,
    ShippingLine,
    TaxLine,
)
from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.netsuite import order_from_netsuite, order_to_netsuite, wire
from retailconnect.errors import MappingError

FIX = Path(__file__).parents[4] / "fixtures" / "netsuite"


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def make_order() -> Order:
    return Order(
        number="#1001",
        channel="shopify",
        currency="USD",
        placed_at=datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC),
        customer=CustomerContact(email="jane@example.com", first_name="Jane", last_name="Doe"),
        billing_address=Address(first_name="Jane", last_name="Doe", line1="1 Main St", city="Springfield",
                                region_code="IL", postal_code="62701", country_code="US"),
        shipping_address=Address(first_name="Jane", last_name="Doe", line1="1 Main St", city="Springfield",
                                 region_code="IL", postal_code="62701", country_code="US", phone="+1 217 555 0100"),
        lines=[
            OrderLine(id="L1", sku="TSHIRT-RED-M", title="T-shirt", quantity=2, unit_price=usd("20.00"),
                      discount_total=usd("4.00"), tax_total=usd("2.88"), line_total=usd("36.00"),
                      tax_lines=[TaxLine(title="tax", amount=usd("2.88"))]),
            OrderLine(id="L2", sku="MUG-WHITE", title="Mug", quantity=1, unit_price=usd("14.00"),
                      discount_total=usd("0.00"), tax_total=usd("1.12"), line_total=usd("14.00"),
                      tax_lines=[TaxLine(title="tax", amount=usd("1.12"))]),
        ],
        shipping_lines=[ShippingLine(code="ups-ground", title="UPS Ground", price=usd("5.00"),
                                     discount_total=usd("0.00"), tax_total=usd("0.40"),
                                     tax_lines=[TaxLine(title="shipping tax", amount=usd("0.40"))])],
        totals=OrderTotals(subtotal=usd("54.00"), discount_total=usd("4.00"), shipping_total=usd("5.00"),
                           tax_total=usd("4.40"), grand_total=usd("59.40")),
        note="Leave at the door",
    )  # fmt: skip


SETTINGS = {
    "subsidiary_id": "1",
    "location_id": "3",
    "department_id": "7",
    "class_id": "9",
    "currency_ids": {"USD": "1"},
    "discount_item_id": "-6",
    "ship_method_ids": {"ups-ground": "4"},
}


def test_export_builds_sales_order_body_from_config_and_item_ids() -> None:
    ctx = MapContext(settings=SETTINGS)
    body = order_to_netsuite(make_order(), ctx, external_id="shopify-1001", customer_id="1107",
                             item_ids={"TSHIRT-RED-M": "288", "MUG-WHITE": "301"})  # fmt: skip
    assert body["externalId"] == "shopify-1001"
    assert body["entity"] == {"id": "1107"}
    assert body["tranDate"] == "2026-11-20"
    assert body["currency"] == {"id": "1"}
    assert body["otherRefNum"] == "#1001"
    assert body["subsidiary"] == {"id": "1"} and body["location"] == {"id": "3"}
    assert body["department"] == {"id": "7"} and body["class"] == {"id": "9"}
    assert body["shipMethod"] == {"id": "4"} and body["shippingCost"] == Decimal("5.00")
    items = body["item"]["items"]
    assert [i["item"] for i in items] == [{"id": "288"}, {"id": "-6"}, {"id": "301"}]
    assert (
        items[0]["quantity"] == 2
        and items[0]["rate"] == Decimal("20.00")
        and items[0]["amount"] == Decimal("40.00")
    )
    assert items[1]["itemType"] == "Discount" and items[1]["amount"] == Decimal("-4.00")
    # amounts are written as JSON numbers, never through float
    text = wire.dumps(body)
    assert '"rate":20.00' in text and '"amount":-4.00' in text
    assert ctx.warnings == []


def test_round_trip_canonical_netsuite_canonical() -> None:
    ctx = MapContext(settings=SETTINGS)
    order = make_order()
    body = order_to_netsuite(order, ctx, external_id="shopify-1001", customer_id="1107",
                             item_ids={"TSHIRT-RED-M": "288", "MUG-WHITE": "301"})  # fmt: skip
    # what NetSuite would echo back on GET: item refName = itemid (the SKU), plus id/tranId/total
    echoed = wire.loads(wire.dumps(body))
    skus = {"288": "TSHIRT-RED-M", "301": "MUG-WHITE"}
    for ln in echoed["item"]["items"]:
        if ln["item"].get("id") in skus:
            ln["item"]["refName"] = skus[ln["item"]["id"]]
    echoed.update({"id": "4521", "tranId": "SO10487", "total": Decimal("59.40")})
    back = order_from_netsuite(echoed, MapContext(settings=SETTINGS))
    assert back.totals_mismatch is None
    assert back.id == order.id and back.number == order.number and back.channel == "shopify"
    assert back.placed_at == order.placed_at and back.currency == "USD"
    assert back.totals == order.totals
    assert [
        (ln.sku, ln.quantity, ln.unit_price, ln.discount_total, ln.tax_total, ln.line_total, ln.id)
        for ln in back.lines
    ] == [
        (ln.sku, ln.quantity, ln.unit_price, ln.discount_total, ln.tax_total, ln.line_total, ln.id)
        for ln in order.lines
    ]
    assert back.shipping_lines[0].price == usd("5.00") and back.shipping_lines[0].tax_total == usd("0.40")
    assert back.shipping_address == order.shipping_address
    assert back.customer.email == "jane@example.com" and back.note == order.note
    assert back.external_refs == {"netsuite": "4521", "netsuite_eid": "shopify-1001"}


def test_published_shape_sales_order_maps_with_header_discount_allocated() -> None:
    payload = json.loads((FIX / "sales_order.json").read_text())  # floats, as a plain json.loads gives
    order = order_from_netsuite(payload, MapContext())
    assert order.number == "#1001" and order.currency == "USD"
    assert [ln.sku for ln in order.lines] == ["TSHIRT-RED-M", "MUG-WHITE"]
    assert order.totals.subtotal == usd("54.00")
    assert order.totals.discount_total == usd("4.00")  # header discount, allocated by gross
    assert sum((ln.discount_total for ln in order.lines), usd("0")) == usd("4.00")
    assert order.totals.tax_total == usd("4.40") and order.totals.grand_total == usd("59.40")
    assert order.totals_mismatch is None
    assert order.shipping_lines[0].title == "UPS Ground"
    assert order.placed_at == datetime(2026, 11, 20, tzinfo=UTC)
    assert order.external_refs["netsuite"] == "4521"


def test_total_that_does_not_reconcile_is_flagged_not_corrected() -> None:
    payload = json.loads((FIX / "sales_order.json").read_text())
    payload["total"] = 60.0
    order = order_from_netsuite(payload, MapContext())
    assert order.totals_mismatch and "60.00" in order.totals_mismatch
    assert order.totals.grand_total == usd("60.00")


def test_unexpanded_item_sublist_is_a_mapping_error_with_path() -> None:
    payload = json.loads((FIX / "sales_order.json").read_text())
    payload["item"] = {"links": [{"rel": "self", "href": "x"}]}
    with pytest.raises(MappingError) as ei:
        order_from_netsuite(payload, MapContext())
    assert ei.value.context["path"] == "$.item.items"


def test_unknown_currency_is_a_mapping_error() -> None:
    payload = json.loads((FIX / "sales_order.json").read_text())
    payload["currency"] = {"id": "99", "refName": "Martian Credit"}
    with pytest.raises(MappingError) as ei:
        order_from_netsuite(payload, MapContext())
    assert ei.value.context["path"] == "$.currency"


def test_custom_fields_can_be_switched_off() -> None:
    body = order_to_netsuite(make_order(), MapContext(settings={**SETTINGS, "custom_fields": False}),
                             item_ids={"TSHIRT-RED-M": "1", "MUG-WHITE": "2"})  # fmt: skip
    assert not [k for k in body if k.startswith("custbody_")]
    assert all("custcol_rc_line_id" not in ln for ln in body["item"]["items"])
