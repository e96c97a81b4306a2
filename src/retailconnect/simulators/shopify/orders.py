"""Build Shopify-shaped orders (the webhook / REST JSON) whose figures add up the way Shopify's do.

All amounts are integer minor units while building; shop money is the shop currency, presentment money is
the buyer's currency at a fixed simulated rate. Discounts are allocated to lines (discount_allocations with
discount_application_index), shipping discounts to shipping lines; tax is per line and on shipping, added on
top or included in prices (taxes_included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MINOR = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
FX = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CAD": Decimal("1.36"),
    "JPY": Decimal("151"),
}


def minor(cur: str) -> int:
    return MINOR.get(cur, 2)


def fmt(cents: int, cur: str) -> str:
    m = minor(cur)
    return str((Decimal(cents).scaleb(-m)).quantize(Decimal(1).scaleb(-m)))


def to_cents(amount: str | Decimal | int, cur: str) -> int:
    return int((Decimal(str(amount)).scaleb(minor(cur))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def convert(cents: int, shop: str, pres: str) -> int:
    if shop == pres:
        return cents
    value = Decimal(cents).scaleb(-minor(shop)) / FX.get(shop, Decimal(1)) * FX.get(pres, Decimal(1))
    return int(value.scaleb(minor(pres)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: int, weights: list[int]) -> list[int]:
    s = sum(weights)
    if s == 0:
        weights, s = [1] * len(weights), len(weights)
    exact = [total * w / s for w in weights]
    floors = [int(e) for e in exact]
    rest = total - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))[:rest]:
        floors[i] += 1
    return floors


def tax_of(base: int, rate: Decimal, included: bool) -> int:
    if base <= 0:
        return 0
    t = Decimal(base) * rate / (1 + rate) if included else Decimal(base) * rate
    return int(t.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class MoneySet:
    def __init__(self, shop: str, pres: str) -> None:
        self.shop, self.pres = shop, pres

    def __call__(self, cents: int, pres_cents: int | None = None) -> dict[str, Any]:
        p = convert(cents, self.shop, self.pres) if pres_cents is None else pres_cents
        return {
            "shop_money": {"amount": fmt(cents, self.shop), "currency_code": self.shop},
            "presentment_money": {"amount": fmt(p, self.pres), "currency_code": self.pres},
        }


def build_order(
    *,
    order_id: int,
    number: int,
    line_specs: list[dict[str, Any]],
    shop_currency: str,
    presentment_currency: str,
    taxes_included: bool,
    tax_rate: Decimal,
    shipping_cents: int,
    order_discount_pct: int = 0,
    free_shipping: bool = False,
    line_id_start: int,
    now: datetime | None = None,
    email: str = "buyer@example.com",
    financial_status: str = "paid",
    address: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``line_specs``: [{sku, title, price (decimal str, shop money), quantity, variant_id, product_id,
    line_discount (decimal str, optional), gift_card (bool)}]."""
    shop, pres = shop_currency, presentment_currency
    ms = MoneySet(shop, pres)
    now = now or datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds")
    apps: list[dict[str, Any]] = []
    gross = [to_cents(s["price"], shop) * int(s["quantity"]) for s in line_specs]
    line_disc: list[list[tuple[int, int]]] = [[] for _ in line_specs]  # (application index, cents)
    for i, s in enumerate(line_specs):
        if s.get("line_discount"):
            d = min(gross[i], to_cents(s["line_discount"], shop))
            if d > 0:
                apps.append(
                    {
                        "target_type": "line_item",
                        "type": "manual",
                        "value": fmt(d, shop),
                        "value_type": "fixed_amount",
                        "allocation_method": "one",
                        "target_selection": "explicit",
                        "title": "Line discount",
                        "description": "Line discount",
                    }
                )
                line_disc[i].append((len(apps) - 1, d))
    if order_discount_pct:
        remaining = [gross[i] - sum(c for _, c in line_disc[i]) for i in range(len(line_specs))]
        total_off = sum(remaining) * order_discount_pct // 100
        if total_off > 0:
            apps.append(
                {
                    "target_type": "line_item",
                    "type": "discount_code",
                    "value": f"{order_discount_pct}.0",
                    "value_type": "percentage",
                    "allocation_method": "across",
                    "target_selection": "all",
                    "code": f"SAVE{order_discount_pct}",
                }
            )
            for i, part in enumerate(allocate(total_off, remaining)):
                if part:
                    line_disc[i].append((len(apps) - 1, part))
    ship_disc = 0
    if free_shipping and shipping_cents:
        apps.append(
            {
                "target_type": "shipping_line",
                "type": "automatic",
                "value": "100.0",
                "value_type": "percentage",
                "allocation_method": "each",
                "target_selection": "all",
                "title": "Free shipping",
            }
        )
        ship_disc = shipping_cents
    line_items: list[dict[str, Any]] = []
    line_taxes: list[int] = []
    tot_disc = tot_tax = 0
    for i, s in enumerate(line_specs):
        d = sum(c for _, c in line_disc[i])
        gift = bool(s.get("gift_card"))
        t = 0 if gift else tax_of(gross[i] - d, tax_rate, taxes_included)
        tot_disc += d
        tot_tax += t
        line_taxes.append(t)
        unit = to_cents(s["price"], shop)
        li_id = line_id_start + i
        line_items.append(
            {
                "id": li_id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{li_id}",
                "variant_id": s.get("variant_id"),
                "product_id": s.get("product_id"),
                "title": s.get("title") or s.get("sku") or "Custom item",
                "name": s.get("title") or s.get("sku") or "Custom item",
                "sku": s.get("sku"),
                "quantity": int(s["quantity"]),
                "current_quantity": int(s["quantity"]),
                "fulfillable_quantity": int(s["quantity"]),
                "fulfillment_status": None,
                "requires_shipping": not gift,
                "taxable": not gift,
                "gift_card": gift,
                "price": fmt(unit, shop),
                "price_set": ms(unit),
                "total_discount": fmt(d, shop),
                "total_discount_set": ms(d),
                "discount_allocations": [
                    {"amount": fmt(c, shop), "amount_set": ms(c), "discount_application_index": idx}
                    for idx, c in line_disc[i]
                ],
                "tax_lines": (
                    [
                        {
                            "title": "Sales Tax" if not taxes_included else "VAT",
                            "rate": float(tax_rate),
                            "price": fmt(t, shop),
                            "price_set": ms(t),
                            "channel_liable": False,
                        }
                    ]
                    if not gift and tax_rate
                    else []
                ),
                "properties": [],
                "duties": [],
            }
        )
    ship_tax = tax_of(shipping_cents - ship_disc, tax_rate, taxes_included) if shipping_cents else 0
    tot_tax += ship_tax
    shipping_lines = []
    if shipping_cents:
        shipping_lines.append(
            {
                "id": line_id_start + len(line_specs),
                "title": "Standard",
                "code": "STANDARD",
                "source": "shopify",
                "price": fmt(shipping_cents, shop),
                "price_set": ms(shipping_cents),
                "discounted_price": fmt(shipping_cents - ship_disc, shop),
                "discounted_price_set": ms(shipping_cents - ship_disc),
                "discount_allocations": (
                    [
                        {
                            "amount": fmt(ship_disc, shop),
                            "amount_set": ms(ship_disc),
                            "discount_application_index": len(apps) - 1,
                        }
                    ]
                    if ship_disc
                    else []
                ),
                "tax_lines": (
                    [
                        {
                            "title": "Shipping tax",
                            "rate": float(tax_rate),
                            "price": fmt(ship_tax, shop),
                            "price_set": ms(ship_tax),
                            "channel_liable": False,
                        }
                    ]
                    if tax_rate and shipping_cents - ship_disc > 0
                    else []
                ),
            }
        )
    items_price = sum(gross)
    subtotal = items_price - tot_disc
    total = subtotal + shipping_cents - ship_disc + (0 if taxes_included else tot_tax)

    # presentment totals as sums of presentment atoms (so they add up in the buyer's currency too)
    def pres_sum(values: list[int]) -> int:
        return sum(convert(v, shop, pres) for v in values)

    p_items = pres_sum(gross)
    p_disc = pres_sum([c for ld in line_disc for _, c in ld]) + convert(ship_disc, shop, pres)
    p_line_disc = pres_sum([c for ld in line_disc for _, c in ld])
    p_ship = convert(shipping_cents, shop, pres)
    p_tax = pres_sum(line_taxes) + convert(ship_tax, shop, pres)
    p_total = (
        p_items - p_line_disc + p_ship - convert(ship_disc, shop, pres) + (0 if taxes_included else p_tax)
    )
    addr = address or {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address1": "1 Analytical Way",
        "address2": None,
        "city": "Springfield",
        "province": "Oregon",
        "province_code": "OR",
        "zip": "97477",
        "country": "United States",
        "country_code": "US",
        "phone": None,
        "company": None,
        "name": "Ada Lovelace",
    }
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "number": number - 1000,
        "order_number": number,
        "email": email,
        "contact_email": email,
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
        "cancelled_at": None,
        "closed_at": None,
        "currency": shop,
        "presentment_currency": pres,
        "taxes_included": taxes_included,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "tags": "",
        "note": None,
        "test": True,
        "source_name": "web",
        "discount_applications": apps,
        "discount_codes": [
            {"code": a["code"], "amount": fmt(tot_disc, shop), "type": "percentage"}
            for a in apps
            if a.get("code")
        ],
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "tax_lines": [],
        "total_line_items_price": fmt(items_price, shop),
        "total_line_items_price_set": ms(items_price, p_items),
        "total_discounts": fmt(tot_disc + ship_disc, shop),
        "total_discounts_set": ms(tot_disc + ship_disc, p_disc),
        "subtotal_price": fmt(subtotal, shop),
        "subtotal_price_set": ms(subtotal, p_items - p_line_disc),
        "total_shipping_price_set": ms(shipping_cents, p_ship),
        "total_tax": fmt(tot_tax, shop),
        "total_tax_set": ms(tot_tax, p_tax),
        "total_price": fmt(total, shop),
        "total_price_set": ms(total, p_total),
        "total_tip_received": "0.00",
        "customer": {
            "id": order_id + 7,
            "email": email,
            "first_name": addr.get("first_name"),
            "last_name": addr.get("last_name"),
        },
        "billing_address": addr,
        "shipping_address": addr,
        "fulfillments": [],
        "refunds": [],
    }


def random_line_specs(rng: random.Random, catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    picks = rng.sample(catalog, k=min(len(catalog), rng.randint(1, 4)))
    specs = []
    for v in picks:
        q = rng.randint(1, 3)
        spec: dict[str, Any] = {
            "sku": v["sku"],
            "title": v["title"],
            "price": v["price"],
            "quantity": q,
            "variant_id": v["variant_id"],
            "product_id": v["product_id"],
        }
        r = rng.random()
        if r < 0.15:
            spec["line_discount"] = str(Decimal(v["price"]) * q)  # a 100 % line discount
        elif r < 0.4:
            spec["line_discount"] = str(
                (Decimal(v["price"]) * q * Decimal(rng.randint(5, 30)) / 100).quantize(Decimal("0.01"))
            )
        specs.append(spec)
    if rng.random() < 0.1:
        specs.append(
            {
                "sku": None,
                "title": "Gift card",
                "price": "25.00",
                "quantity": 1,
                "variant_id": None,
                "product_id": None,
                "gift_card": True,
            }
        )
    return specs
