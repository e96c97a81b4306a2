"""Property: every order the simulator generates maps to a canonical Order whose totals reconcile."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from retailconnect.canonical import check_totals
from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.shopify import order_from_shopify
from retailconnect.simulators.shopify import ShopState

CURRENCIES = st.sampled_from(["USD", "EUR", "GBP", "JPY"])


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shop_currency=CURRENCIES)
def test_generated_orders_reconcile(seed: int, shop_currency: str) -> None:
    state = ShopState(currency=shop_currency)
    state.seed()
    raw = state.generate_order(random.Random(seed))
    ctx = MapContext()
    order = order_from_shopify(raw, ctx)
    assert order.totals_mismatch is None, order.totals_mismatch
    assert check_totals(order) == []
    assert order.currency == shop_currency
    assert str(order.totals.grand_total.amount) == raw["total_price"]
    assert len(order.lines) == len(raw["line_items"])
    if raw["presentment_currency"] != shop_currency:
        assert order.presentment_totals is not None
        assert order.presentment_totals.grand_total.currency == raw["presentment_currency"]
    for w in ctx.warnings:  # only gift cards come without a SKU
        assert "no SKU" in w


def test_generator_covers_the_interesting_shapes() -> None:
    state = ShopState()
    state.seed()
    rng = random.Random(7)
    orders = [state.generate_order(rng) for _ in range(200)]
    assert any(o["taxes_included"] for o in orders) and any(not o["taxes_included"] for o in orders)
    assert len({o["presentment_currency"] for o in orders}) >= 3
    assert any(len(o["line_items"]) > 1 for o in orders)
    assert any(a["target_type"] == "shipping_line" for o in orders for a in o["discount_applications"])
    assert any(
        a["value_type"] == "percentage" and a["target_type"] == "line_item"
        for o in orders
        for a in o["discount_applications"]
    )
    assert any(li["gift_card"] for o in orders for li in o["line_items"])
    assert any(
        li["total_discount"] == li["price"] and li["quantity"] == 1 for o in orders for li in o["line_items"]
    )
    assert any(sl["tax_lines"] for o in orders for sl in o["shipping_lines"])
