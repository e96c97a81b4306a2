"""Mapping Shopify's published sample payloads to canonical objects, and the CLI on every fixture."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.shopify import (
    CLI_MAPPERS,
    inventory_level_from_shopify,
    order_from_shopify,
    product_from_shopify,
    refund_from_shopify,
)
from retailconnect.errors import MappingError

FIX = Path(__file__).parents[4] / "tests" / "fixtures" / "shopify"


def load(name: str) -> object:
    return json.loads((FIX / name).read_text())


def test_orders_create_sample_maps_with_shop_money_and_refs() -> None:
    ctx = MapContext()
    o = order_from_shopify(load("order_webhook_orders_create_2022-04.json"), ctx)
    assert o.external_refs == {"shopify": "820982911946154508"}
    assert o.number == "#9999" and o.extra["shopify"]["order_number"] == 1234
    assert o.currency == "USD" and o.presentment_currency == "USD"
    assert [ln.sku for ln in o.lines] == ["IPOD2008PINK", "IPOD2008PINK"]
    assert [ln.discount_total.amount for ln in o.lines] == [Decimal("0.00"), Decimal("5.00")]
    assert o.lines[1].external_refs == {
        "shopify_line_item": "141249953214522974", "shopify_product": "632910392", "shopify_variant": "808950810",
    }  # fmt: skip
    t = o.totals
    assert (t.subtotal.amount, t.discount_total.amount, t.shipping_total.amount, t.grand_total.amount) == (
        Decimal("398.00"), Decimal("5.00"), Decimal("10.00"), Decimal("403.00"),
    )  # fmt: skip
    assert o.presentment_totals is not None and o.presentment_totals.grand_total.amount == Decimal("403.00")
    assert o.totals_mismatch is None and ctx.warnings == []
    assert o.status.value == "cancelled" and o.financial_status.value == "voided"
    assert o.shipping_address is not None and o.shipping_address.region_code == "KY"
    assert o.customer.email == "jon@doe.ca"


def test_rest_wrapper_is_accepted() -> None:
    a = order_from_shopify(load("order_rest_wrapper_2022-04.json"), MapContext())
    b = order_from_shopify(load("order_webhook_orders_create_2022-04.json"), MapContext())
    assert a.totals == b.totals and a.external_refs == b.external_refs


def test_totals_mismatch_keeps_vendor_figures_and_warns() -> None:
    ctx = MapContext()
    o = order_from_shopify(load("derived/order_totals_mismatch.json"), ctx)
    assert o.totals.grand_total.amount == Decimal("413.00")  # not "fixed"
    assert o.totals_mismatch is not None and "off by 10.00 USD" in o.totals_mismatch
    assert len(ctx.warnings) == 1 and "#9999" in ctx.warnings[0]


def test_edited_order_and_line_without_sku() -> None:
    ctx = MapContext()
    o = order_from_shopify(load("derived/order_edited_no_sku.json"), ctx)
    assert o.lines[0].sku is None
    assert o.lines[0].external_refs["shopify_variant"] == "808950810"
    assert o.lines[1].quantity == 0 and o.lines[1].discount_total.amount == 0
    assert o.lines[1].external_refs["shopify_original_quantity"] == "1"
    assert o.totals.grand_total.amount == Decimal("209.00") and o.totals_mismatch is None
    assert any("no SKU" in w for w in ctx.warnings)


def test_real_order_with_stacked_discounts_and_empty_skus() -> None:
    ctx = MapContext()
    o = order_from_shopify(load("order_webhook_real_hkd_discounts_no_sku.json"), ctx)
    assert o.currency == "HKD" and o.number == "#1071"
    assert [ln.sku for ln in o.lines] == [None, None]  # kept, never skipped
    assert [ln.external_refs["shopify_variant"] for ln in o.lines] == ["50398373085484", "50451770802476"]
    assert [ln.discount_total.amount for ln in o.lines] == [Decimal("19.10"), Decimal("15.00")]
    assert o.totals.grand_total.amount == Decimal("186.90") and o.totals_mismatch is None
    assert o.customer.email is None  # Shopify sent ""
    assert sum("no SKU" in w for w in ctx.warnings) == 2


def test_broken_payload_names_the_json_path() -> None:
    with pytest.raises(MappingError) as exc:
        order_from_shopify(load("derived/order_broken_price.json"), MapContext())
    assert exc.value.context["path"] == "$.line_items[1].price_set.shop_money.amount"


def test_refund_sample_keeps_transactions_as_total_and_warns() -> None:
    ctx = MapContext()
    r = refund_from_shopify(load("refund_rest_509562969.json"), ctx)
    assert r.total.amount == Decimal("209.00")
    assert [ln.amount.amount for ln in r.lines] == [Decimal("195.66"), Decimal("195.67")]
    assert all(ln.restock for ln in r.lines) and r.lines[0].sku == "IPOD2008BLACK"
    assert r.external_refs == {"shopify": "509562969", "shopify_order": "450789469"}
    assert ctx.warnings and "209.00" in ctx.warnings[0]


def test_shipping_only_refund() -> None:
    ctx = MapContext()
    r = refund_from_shopify(load("refund_rest_929361471_shipping.json"), ctx)
    assert r.lines == [] and r.shipping is not None and r.shipping.amount == Decimal("5.00")
    assert r.total.amount == Decimal("5.00") and ctx.warnings == []


def test_product_sample() -> None:
    ctx = MapContext(settings={"shop_currency": "USD"})
    p = product_from_shopify(load("product_webhook_products_update.json"), ctx)
    assert [v.sku for v in p.variants] == ["example-shirt-s", "example-shirt-m"]
    assert p.variants[0].price is not None and p.variants[0].price.amount == Decimal("19.99")
    assert p.tags == ["example", "mens", "t-shirt"]


def test_inventory_level_sample_resolves_sku_from_settings() -> None:
    payload = load("inventory_level_webhook_inventory_levels_update.json")
    ctx = MapContext(settings={"sku_by_inventory_item": {"271878346596884015": "IPOD2008PINK"}})
    lv = inventory_level_from_shopify(payload, ctx)
    assert (lv.sku, lv.location, lv.available) == ("IPOD2008PINK", "24826418", 6) and ctx.warnings == []
    ctx2 = MapContext()
    assert inventory_level_from_shopify(payload, ctx2).sku == "shopify-inventory-item:271878346596884015"
    assert ctx2.warnings


# -- the CLI on every fixture ------------------------------------------------------------------------
CASES = [
    ("order", "order_webhook_orders_create_2022-04.json"),
    ("order", "order_rest_wrapper_2022-04.json"),
    ("order", "order_webhook_real_hkd_discounts_no_sku.json"),
    ("order", "derived/order_totals_mismatch.json"),
    ("order", "derived/order_edited_no_sku.json"),
    ("refund", "refund_rest_509562969.json"),
    ("refund", "refund_rest_929361471_shipping.json"),
    ("product", "product_webhook_products_update.json"),
    ("inventory_level", "inventory_level_webhook_inventory_levels_update.json"),
]


@pytest.fixture(scope="module")
def cli():  # type: ignore[no-untyped-def]
    import retailconnect.cli as root

    root._load()
    return root.app


def test_every_fixture_is_covered() -> None:
    listed = {f for _, f in CASES} | {"derived/order_broken_price.json"}
    on_disk = {str(p.relative_to(FIX)) for p in FIX.rglob("*.json")}
    assert on_disk == listed
    assert set(CLI_MAPPERS) >= {"order", "refund", "product", "inventory_level"}


@pytest.mark.parametrize(("obj", "name"), CASES)
def test_cli_maps_every_fixture(cli, obj: str, name: str) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(cli, ["map", "shopify", obj, str(FIX / name)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["external_refs"]


def test_cli_mismatch_prints_warning_and_flag(cli) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(
        cli, ["map", "shopify", "order", str(FIX / "derived/order_totals_mismatch.json")]
    )
    assert res.exit_code == 0
    assert json.loads(res.stdout)["totals_mismatch"]
    assert "do not reconcile" in res.stderr


def test_cli_broken_exits_2_with_path(cli) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(cli, ["map", "shopify", "order", str(FIX / "derived/order_broken_price.json")])
    assert res.exit_code == 2
    assert "$.line_items[1].price_set.shop_money.amount" in res.stderr


def test_tip_in_total_price_is_flagged_and_explained() -> None:
    o = json.loads((FIX / "order_webhook_orders_create_2022-04.json").read_text())
    o["total_tip_received"] = "5.00"
    o["total_price"] = "408.00"
    o["total_price_set"]["shop_money"]["amount"] = "408.00"
    ctx = MapContext()
    order = order_from_shopify(o, ctx)
    assert order.totals.grand_total.amount == Decimal("408.00")
    assert order.totals_mismatch is not None and "total_tip_received" in order.totals_mismatch
    assert ctx.warnings


def test_cli_exports_refund_and_inventory(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refund = {
        "order_number": "#1001", "currency": "USD", "reason": "damaged",
        "external_refs": {"shopify_order": "450789469"},
        "lines": [{"order_line_id": "466157049", "quantity": 1, "amount": {"amount": "199.00", "currency": "USD"}, "restock": True}],
        "total": {"amount": "199.00", "currency": "USD"},
    }  # fmt: skip
    f = tmp_path / "refund.json"
    f.write_text(json.dumps(refund))
    res = CliRunner().invoke(cli, ["map", "--to", "shopify", "refund", str(f)])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)["input"]
    assert body["orderId"] == "gid://shopify/Order/450789469"
    assert body["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/466157049", "quantity": 1, "restockType": "RETURN"}
    ]
    assert body["transactions"][0]["kind"] == "REFUND" and body["transactions"][0]["amount"] == "199.00"
    assert "[retailconnect:" in body["note"]
    g = tmp_path / "level.json"
    g.write_text(json.dumps({"sku": "IPOD2008PINK", "location": "Main", "on_hand": 7}))
    res = CliRunner().invoke(cli, ["map", "--to", "shopify", "inventory_level", str(g)])
    assert res.exit_code == 0, res.output
    q = json.loads(res.stdout)["input"]
    assert q["name"] == "available" and q["reason"] == "correction" and q["quantities"][0]["quantity"] == 7


def test_gift_card_line_without_sku_maps_to_the_configured_gift_card_item() -> None:
    payload = load("order_webhook_orders_create_2022-04.json")
    assert isinstance(payload, dict)
    gift = payload["line_items"][0]
    gift.update({"sku": None, "gift_card": True, "requires_shipping": False, "title": "Gift card"})
    plain = MapContext()
    o = order_from_shopify(payload, plain)
    assert o.lines[0].sku is None and o.lines[0].gift_card and any("no SKU" in w for w in plain.warnings)
    ctx = MapContext(settings={"gift_card_sku": "GIFT-CARD"})
    o = order_from_shopify(payload, ctx)
    line = o.lines[0]
    assert line.sku == "GIFT-CARD" and line.gift_card and not line.requires_shipping
    assert line.external_refs["shopify_gift_card"] == "true"
    assert not any("no SKU" in w for w in ctx.warnings)
    assert o.lines[1].sku == "IPOD2008PINK" and not o.lines[1].gift_card  # other lines untouched
