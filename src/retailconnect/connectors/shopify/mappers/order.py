"""Shopify order (webhook / REST shape) -> canonical Order.

Rules:
- amounts in shop money (``*_set.shop_money``, else the plain field in ``currency``); presentment currency and
  presentment totals are kept in ``presentment_currency`` / ``presentment_totals``;
- ``number`` is the order ``name`` ("#1001", what the merchant and customer see; unique per shop with the
  shop's prefix/suffix), falling back to ``order_number``; ``order_number`` is also kept in ``extra``;
- a line's quantity is ``current_quantity`` when present (order edits, removed lines); its discount and tax are
  pro-rated to that quantity, and the order totals are then Shopify's ``current_*`` figures;
- discount_allocations (order-level discounts allocated to lines) -> line ``discount_total``; a shipping line's
  own allocations -> its ``discount_total`` (and are taken out of Shopify's ``total_discounts``, which covers both);
- a line with no SKU keeps ``sku=None`` and ``external_refs`` with its line/product/variant ids;
- a gift-card line (``gift_card: true``; Shopify sells it untaxed and, when digital, without shipping) keeps
  ``gift_card=True`` and Shopify's ``requires_shipping``; without a SKU of its own it takes the one named by the
  system setting ``gift_card_sku`` (the ERP's non-inventory gift-card item), so it posts to the ERP as that item
  while the WMS and the availability projection leave it alone; without the setting it stays SKU-less;
- vendor totals that do not reconcile are kept, described in ``totals_mismatch`` and reported as a warning.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from retailconnect.canonical import (
    Address,
    CustomerContact,
    FinancialStatus,
    FulfillmentStatus,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    OrderTotals,
    ShippingLine,
    TaxLine,
    allocate,
    check_totals,
)
from retailconnect.connectors._kit import MapContext
from retailconnect.connectors._kit.drift import check_keys
from retailconnect.errors import MappingError

from ._common import alloc_sum, at, clean, dec, guarded, items, money_from, money_req, sid, ts, unwrap

__all__ = ["address_from_shopify", "order_from_shopify"]

_FIN = {s.value: s for s in FinancialStatus}
_FUL = {
    None: FulfillmentStatus.UNFULFILLED,
    "unfulfilled": FulfillmentStatus.UNFULFILLED,
    "pending": FulfillmentStatus.UNFULFILLED,
    "partial": FulfillmentStatus.PARTIAL,
    "fulfilled": FulfillmentStatus.FULFILLED,
    "restocked": FulfillmentStatus.RESTOCKED,
}


def address_from_shopify(a: Any) -> Address | None:
    if not isinstance(a, dict):
        return None
    for k in (
        "first_name",
        "last_name",
        "company",
        "address1",
        "address2",
        "city",
        "province_code",
        "zip",
        "phone",
    ):
        if a.get(k) is not None and not isinstance(a.get(k), str | int):
            raise MappingError(f"{k} must be text", context={"path": f".{k}"})
    country = clean(a.get("country_code"))
    return Address(
        first_name=clean(a.get("first_name")),
        last_name=clean(a.get("last_name")),
        company=clean(a.get("company")),
        line1=clean(a.get("address1")),
        line2=clean(a.get("address2")),
        city=clean(a.get("city")),
        region_code=clean(a.get("province_code")),
        postal_code=clean(a.get("zip")),
        country_code=country if country and len(country) == 2 and country.isalpha() else None,
        phone=clean(a.get("phone")),
    )


def _tax_lines(node: dict[str, Any], path: str, cur: str) -> list[TaxLine]:
    out = []
    for i, t in enumerate(items(node, "tax_lines", path)):
        p = f"{path}.tax_lines[{i}]"
        at(p)
        amount = money_req(t, "price", p, cur)
        rate = t.get("rate")
        out.append(
            TaxLine(
                title=str(t.get("title") or "tax"),
                rate=dec(rate, f"{p}.rate") if rate is not None else None,
                amount=amount,
            )
        )
    return out


def _scale(m: Money, num: int, den: int) -> Money:
    if den == 0 or num == den:
        return m
    return allocate(m, [num, den - num])[0]


def _line(li: dict[str, Any], i: int, cur: str, ctx: MapContext) -> tuple[OrderLine, bool]:
    p = f"$.line_items[{i}]"
    at(p)
    qty_raw = li.get("quantity")
    if not isinstance(qty_raw, int) or isinstance(qty_raw, bool) or not 0 <= qty_raw < 10**9:
        raise MappingError(
            f"quantity must be a non-negative integer, got {qty_raw!r}", context={"path": f"{p}.quantity"}
        )
    cq = li.get("current_quantity")
    qty: int = qty_raw
    edited = False
    if isinstance(cq, int) and not isinstance(cq, bool) and cq != qty_raw:
        if cq < 0:
            raise MappingError(
                f"current_quantity must not be negative, got {cq}", context={"path": f"{p}.current_quantity"}
            )
        qty, edited = cq, True
    unit = money_req(li, "price", p, cur)
    disc = alloc_sum(li.get("discount_allocations"), f"{p}.discount_allocations", cur)
    if disc is None or (
        not li.get("discount_allocations") and li.get("total_discount") not in (None, "0.00", "0")
    ):
        disc = money_from(li, "total_discount", p, cur) or Money.zero(cur)
    taxes = _tax_lines(li, p, cur)
    tax = Money.sum([t.amount for t in taxes], cur)
    if edited:
        disc = _scale(disc, qty, qty_raw)
        tax = _scale(tax, qty, qty_raw)
        taxes = [t.model_copy(update={"amount": _scale(t.amount, qty, qty_raw)}) for t in taxes]
    refs = {
        k: v
        for k, v in (
            ("shopify_line_item", sid(li.get("id"))),
            ("shopify_product", sid(li.get("product_id"))),
            ("shopify_variant", sid(li.get("variant_id"))),
        )
        if v
    }
    if edited:
        refs["shopify_original_quantity"] = str(qty_raw)
    sku = clean(li.get("sku"))
    gift_card = bool(li.get("gift_card", False))
    if sku is None and gift_card and ctx.settings and ctx.settings.get("gift_card_sku"):
        sku = str(ctx.settings["gift_card_sku"])
        refs["shopify_gift_card"] = "true"
    if sku is None:
        ctx.warn(
            f"line_items[{i}] ({li.get('title') or li.get('name')!r}) has no SKU; kept with "
            f"variant {refs.get('shopify_variant')} / product {refs.get('shopify_product')} for the flow to resolve"
        )
    line = OrderLine(
        id=sid(li.get("id")),
        sku=sku,
        title=str(li.get("name") or li.get("title") or sku or "item"),
        quantity=qty,
        unit_price=unit,
        discount_total=disc,
        tax_total=tax,
        line_total=unit * qty - disc,
        tax_lines=taxes,
        requires_shipping=bool(li.get("requires_shipping", True)),
        gift_card=gift_card,
        external_refs=refs,
    )
    return line, edited


def _shipping(sl: dict[str, Any], i: int, cur: str) -> ShippingLine:
    p = f"$.shipping_lines[{i}]"
    at(p)
    taxes = _tax_lines(sl, p, cur)
    disc = alloc_sum(sl.get("discount_allocations"), f"{p}.discount_allocations", cur) or Money.zero(cur)
    return ShippingLine(
        code=clean(sl.get("code")),
        title=str(sl.get("title") or "shipping"),
        price=money_req(sl, "price", p, cur),
        discount_total=disc,
        tax_total=Money.sum([t.amount for t in taxes], cur),
        tax_lines=taxes,
    )


def _totals(o: dict[str, Any], cur: str, which: str, current: bool, ship_disc: Money) -> OrderTotals | None:
    def get(field: str) -> Money | None:
        if (current and f"current_{field}_set" in o) or (current and f"current_{field}" in o):
            m = money_from(o, f"current_{field}", "$", cur, which=which)
            if m is not None:
                return m
        return money_from(o, field, "$", cur, which=which)

    subtotal = money_from(o, "total_line_items_price", "$", cur, which=which)
    discounts = get("total_discounts")
    shipping = money_from(o, "total_shipping_price", "$", cur, which=which)
    tax = get("total_tax")
    grand = get("total_price")
    if which == "shop_money":
        missing = [
            n
            for n, v in (("total_discounts", discounts), ("total_tax", tax), ("total_price", grand))
            if v is None
        ]
        if missing:
            raise MappingError(f"missing {missing[0]}", context={"path": f"$.{missing[0]}"})
    if grand is None or discounts is None or tax is None:
        return None
    c = grand.currency
    if ship_disc.currency != c:
        ship_disc = Money.zero(c)
    if current and "current_subtotal_price" in o:
        # current_subtotal_price is after discounts: add line discounts back to get the gross subtotal.
        sub_after = money_from(o, "current_subtotal_price", "$", cur, which=which)
        if sub_after is not None:
            subtotal = sub_after + (discounts - ship_disc)
    if subtotal is None:
        sub_after = money_from(o, "subtotal_price", "$", cur, which=which)
        subtotal = (sub_after + discounts - ship_disc) if sub_after is not None else Money.zero(c)
    if shipping is None:
        shipping = Money.zero(c)
    return OrderTotals(
        subtotal=subtotal,
        discount_total=discounts - ship_disc,
        shipping_total=shipping - ship_disc,
        tax_total=tax,
        grand_total=grand,
    )


def _addr(o: dict[str, Any], key: str) -> Address | None:
    at(f"$.{key}")
    try:
        return address_from_shopify(o.get(key))
    except MappingError as exc:
        raise MappingError(exc.message, context={"path": f"$.{key}{exc.context.get('path', '')}"}) from None


def _explain(o: dict[str, Any], order: Order, cur: str) -> str | None:
    """Name a known cause when the gap equals an amount the canonical rule leaves out (tips, duties, fees)."""
    t = order.totals
    z = Money.zero(cur)
    expected = t.subtotal - t.discount_total + t.shipping_total + (z if order.taxes_included else t.tax_total)
    gap = t.grand_total - expected
    if gap.is_zero():
        return None
    for field, label in (
        ("total_tip_received", "tips"),
        ("current_total_duties", "duties"),
        ("original_total_duties", "duties"),
        ("current_total_additional_fees", "additional fees"),
        ("original_total_additional_fees", "additional fees"),
    ):
        try:
            m = money_from(o, field, "$", cur)
        except MappingError:
            continue
        if m is not None and m.currency == cur and not m.is_zero() and m == gap:
            return f"the gap of {gap} equals Shopify's {field}: {label} are outside the canonical totals rule"
    return None


# Fields the mapper relies on (Shopify sends them on every order) and the other documented order fields
# (Admin REST/webhook Order, API 2022-04 .. 2025-01). Anything else is reported as contract drift.
ORDER_EXPECTED = frozenset(
    {
        "id",
        "name",
        "currency",
        "created_at",
        "line_items",
        "total_price",
        "subtotal_price",
        "total_tax",
        "taxes_included",
        "financial_status",
        "total_discounts",
    }
)
ORDER_KNOWN = frozenset(
    {
        "admin_graphql_api_id",
        "app_id",
        "billing_address",
        "browser_ip",
        "buyer_accepts_marketing",
        "cancel_reason",
        "cancelled_at",
        "cart_token",
        "checkout_id",
        "checkout_token",
        "client_details",
        "closed_at",
        "company",
        "confirmation_number",
        "confirmed",
        "contact_email",
        "current_subtotal_price",
        "current_subtotal_price_set",
        "current_total_additional_fees_set",
        "current_total_discounts",
        "current_total_discounts_set",
        "current_total_duties_set",
        "current_total_price",
        "current_total_price_set",
        "current_total_tax",
        "current_total_tax_set",
        "customer",
        "customer_locale",
        "device_id",
        "discount_applications",
        "discount_codes",
        "duties_included",
        "email",
        "estimated_taxes",
        "fulfillment_status",
        "fulfillments",
        "gateway",
        "landing_site",
        "landing_site_ref",
        "location_id",
        "merchant_business_entity_id",
        "merchant_of_record_app_id",
        "note",
        "note_attributes",
        "number",
        "order_number",
        "order_status_url",
        "original_total_additional_fees_set",
        "original_total_duties_set",
        "payment_details",
        "payment_gateway_names",
        "payment_terms",
        "phone",
        "po_number",
        "presentment_currency",
        "processed_at",
        "processing_method",
        "reference",
        "referring_site",
        "refunds",
        "shipping_address",
        "shipping_lines",
        "source_identifier",
        "source_name",
        "source_url",
        "subtotal_price_set",
        "tags",
        "tax_exempt",
        "tax_lines",
        "test",
        "token",
        "total_cash_rounding_payment_adjustment_set",
        "total_cash_rounding_refund_adjustment_set",
        "total_discounts_set",
        "total_line_items_price",
        "total_line_items_price_set",
        "total_outstanding",
        "total_price_set",
        "total_price_usd",
        "total_shipping_price_set",
        "total_tax_set",
        "total_tip_received",
        "total_weight",
        "updated_at",
        "user_id",
    }
)


@guarded
def order_from_shopify(payload: Any, ctx: MapContext) -> Order:
    o = unwrap(payload, "order")
    check_keys(
        ctx.drift,
        system="shopify",
        api_version=ctx.settings.get("api_version") if ctx.settings else None,  # type: ignore[arg-type]
        model="Order",
        payload=o,
        expected=ORDER_EXPECTED,
        known=ORDER_KNOWN,
    )
    cur = o.get("currency")
    if not isinstance(cur, str) or not cur:
        raise MappingError("missing shop currency", context={"path": "$.currency"})
    if o.get("id") is None:
        raise MappingError("missing order id", context={"path": "$.id"})
    raw_lines = o.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise MappingError("an order needs at least one line item", context={"path": "$.line_items"})
    lines: list[OrderLine] = []
    any_edit = False
    for i, li in enumerate(raw_lines):
        if not isinstance(li, dict):
            raise MappingError("line item must be an object", context={"path": f"$.line_items[{i}]"})
        line, edited = _line(li, i, cur, ctx)
        lines.append(line)
        any_edit = any_edit or edited
    ships = [_shipping(sl, i, cur) for i, sl in enumerate(items(o, "shipping_lines", "$"))]
    at("$")
    ship_disc = Money.sum([s.discount_total for s in ships], cur)
    totals = _totals(o, cur, "shop_money", any_edit, ship_disc)
    assert totals is not None
    pres_cur = clean(o.get("presentment_currency"))
    pres_ship_disc = Money.zero(pres_cur or cur)
    for i, sl in enumerate(items(o, "shipping_lines", "$")):
        m = alloc_sum(
            sl.get("discount_allocations"), f"$.shipping_lines[{i}]", pres_cur or cur, "presentment_money"
        )
        if m is not None and m.currency == pres_ship_disc.currency:
            pres_ship_disc = pres_ship_disc + m
    pres_totals = (
        _totals(o, pres_cur or cur, "presentment_money", any_edit, pres_ship_disc) if pres_cur else None
    )

    placed_raw = o.get("processed_at") or o.get("created_at")
    placed = ts(placed_raw, "$.processed_at" if o.get("processed_at") else "$.created_at")
    updated = ts(o["updated_at"], "$.updated_at") if o.get("updated_at") else placed
    at("$.customer")
    raw_cust = o.get("customer")
    cust: dict[str, Any] = raw_cust if isinstance(raw_cust, dict) else {}
    email = clean(o.get("email")) or clean(o.get("contact_email")) or clean(cust.get("email"))
    if email and "@" not in email:
        ctx.warn(f"email {email!r} is not an address; dropped")
        email = None
    status = OrderStatus.OPEN
    if o.get("cancelled_at"):
        status = OrderStatus.CANCELLED
    elif o.get("closed_at"):
        status = OrderStatus.CLOSED
    fin = _FIN.get(str(o.get("financial_status") or "pending"))
    if fin is None:
        ctx.warn(f"unknown financial_status {o.get('financial_status')!r}; read as pending")
        fin = FinancialStatus.PENDING
    raw_ful = o.get("fulfillment_status")
    ful = _FUL.get(raw_ful) if raw_ful is None or isinstance(raw_ful, str) else None
    if ful is None:
        ctx.warn(f"unknown fulfillment_status {o.get('fulfillment_status')!r}; read as unfulfilled")
        ful = FulfillmentStatus.UNFULFILLED
    number = clean(o.get("name")) or sid(o.get("order_number")) or str(o["id"])
    at("$")
    tags = [t.strip() for t in str(o.get("tags") or "").split(",") if t.strip()]
    extra = {
        "shopify": {
            "order_number": o.get("order_number"),
            "admin_graphql_api_id": o.get("admin_graphql_api_id"),
            "source_name": o.get("source_name"),
            "edited": any_edit,
            "discount_applications": o.get("discount_applications") or [],
            "discount_codes": o.get("discount_codes") or [],
            "total_tip_received": o.get("total_tip_received"),
            "customer_id": sid(cust.get("id")),
        }
    }
    kwargs: dict[str, Any] = {
        "external_refs": {"shopify": str(o["id"])},
        "number": number,
        "channel": ctx.channel or "shopify",
        "tenant": ctx.tenant,
        "currency": cur,
        "placed_at": placed,
        "updated_at": updated,
        "customer": CustomerContact(
            email=email,
            first_name=clean(cust.get("first_name")),
            last_name=clean(cust.get("last_name")),
            phone=clean(o.get("phone")) or clean(cust.get("phone")),
        ),
        "billing_address": _addr(o, "billing_address"),
        "shipping_address": _addr(o, "shipping_address"),
        "lines": lines,
        "shipping_lines": ships,
        "totals": totals,
        "taxes_included": bool(o.get("taxes_included", False)),
        "status": status,
        "financial_status": fin,
        "fulfillment_status": ful,
        "cancelled_at": ts(o["cancelled_at"], "$.cancelled_at") if o.get("cancelled_at") else None,
        "tags": tags,
        "note": clean(o.get("note")),
        "presentment_currency": pres_cur,
        "presentment_totals": pres_totals,
        "extra": extra,
    }
    try:
        probe = Order(**kwargs, totals_mismatch="probe")
        problems = check_totals(probe)
        mismatch = None
        if problems:
            mismatch = "Shopify totals do not reconcile (vendor figures kept): " + "; ".join(problems)
            cause = _explain(o, probe, cur)
            if cause:
                mismatch += f" ({cause})"
            ctx.warn(f"order {number}: {mismatch}")
        return Order(**kwargs, totals_mismatch=mismatch)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise MappingError(f"canonical order invalid: {err['msg']}", context={"path": path}) from None
