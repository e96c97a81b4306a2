import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from retailconnect.canonical import Money, Order, check_totals
from retailconnect.errors import TotalsMismatchError


def m(a: str, c: str = "USD") -> dict[str, str]:
    return {"amount": a, "currency": c}


def order_payload(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": "#1001",
        "channel": "shopify",
        "currency": "USD",
        "placed_at": "2026-11-28T10:00:00+01:00",
        "customer": {"email": "Jane@Example.com", "first_name": "Jane", "last_name": "Doe", "phone": None},
        "billing_address": {
            "line1": "1 Main St",
            "city": "Springfield",
            "region_code": "IL",
            "postal_code": "62701",
            "country_code": "us",
        },
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Springfield",
            "region_code": "IL",
            "postal_code": "62701",
            "country_code": "US",
        },
        "lines": [
            {
                "sku": "TEE-1",
                "title": "Tee",
                "quantity": 2,
                "unit_price": m("20.00"),
                "discount_total": m("4.00"),
                "tax_total": m("2.88"),
                "line_total": m("36.00"),
            },
            {
                "sku": None,
                "title": "Gift wrap",
                "quantity": 1,
                "unit_price": m("5.00"),
                "discount_total": m("0.00"),
                "tax_total": m("0.40"),
                "line_total": m("5.00"),
                "external_refs": {"shopify_variant": "123"},
            },
        ],
        "shipping_lines": [
            {
                "code": "std",
                "title": "Standard",
                "price": m("7.00"),
                "discount_total": m("2.00"),
                "tax_total": m("0.40"),
            }
        ],
        "totals": {
            "subtotal": m("45.00"),
            "discount_total": m("4.00"),
            "shipping_total": m("5.00"),
            "tax_total": m("3.68"),
            "grand_total": m("49.68"),
        },
        "taxes_included": False,
    }
    base.update(over)
    return base


def test_order_contract_fields_and_money_shape() -> None:
    o = Order.model_validate(order_payload())
    d = json.loads(o.model_dump_json())
    for key in (
        "id",
        "number",
        "channel",
        "currency",
        "placed_at",
        "customer",
        "billing_address",
        "shipping_address",
        "lines",
        "shipping_lines",
        "totals",
        "taxes_included",
        "status",
        "financial_status",
        "fulfillment_status",
        "external_refs",
    ):
        assert key in d
    assert d["totals"]["grand_total"] == {"amount": "49.68", "currency": "USD"}
    assert d["placed_at"] == "2026-11-28T09:00:00Z"
    assert d["customer"]["email"] == "jane@example.com"
    assert d["billing_address"]["country_code"] == "US"
    assert set(d["lines"][0]) >= {
        "sku",
        "title",
        "quantity",
        "unit_price",
        "discount_total",
        "tax_total",
        "line_total",
    }
    assert o.id.version == 7
    assert o.lines[1].sku is None


def test_totals_that_do_not_reconcile_name_the_mismatch() -> None:
    p = order_payload()
    p["totals"]["grand_total"] = m("50.00")
    with pytest.raises(TotalsMismatchError, match=r"grand_total 50.00 .* \(off by 0.32 USD\)"):
        Order.model_validate(p)


def test_line_total_mismatch_names_the_line() -> None:
    p = order_payload()
    p["lines"][0]["line_total"] = m("40.00")
    with pytest.raises(TotalsMismatchError, match=r"lines\[0\].line_total"):
        Order.model_validate(p)


def test_taxes_included_orders_do_not_add_tax_again() -> None:
    p = order_payload(taxes_included=True)
    p["totals"]["grand_total"] = m("46.00")
    assert Order.model_validate(p).totals.grand_total.amount == Decimal("46.00")


def test_flagged_vendor_mismatch_is_kept_not_fixed() -> None:
    p = order_payload(totals_mismatch="vendor grand total differs by 0.32")
    p["totals"]["grand_total"] = m("50.00")
    o = Order.model_validate(p)
    assert o.totals.grand_total.amount == Decimal("50.00")
    assert check_totals(o)  # still reported


def test_naive_time_and_bad_country_are_refused_with_field() -> None:
    with pytest.raises(ValidationError, match="placed_at"):
        Order.model_validate(order_payload(placed_at="2026-11-28T10:00:00"))
    p = order_payload()
    p["shipping_address"]["country_code"] = "USA"
    with pytest.raises(ValidationError, match="country_code"):
        Order.model_validate(p)


def test_mixed_currency_line_is_reported() -> None:
    p = order_payload()
    p["lines"][0]["unit_price"] = m("20.00", "EUR")
    with pytest.raises(ValidationError, match="currency"):
        Order.model_validate(p)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        Order.model_validate(order_payload(surprise=1))


def test_money_sum_zero() -> None:
    assert Money.sum([], "EUR") == Money.zero("EUR")
