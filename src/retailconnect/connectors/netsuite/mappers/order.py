"""canonical Order <-> NetSuite salesOrder.

Export (:func:`order_to_netsuite`) builds the REST record body for ``PUT /salesOrder/eid:{externalId}``:
``entity``, ``externalId``, ``tranDate``, ``currency``, ``otherRefNum`` (the channel's order number),
``memo``, ``email``, subsidiary / location / department / class from ``ctx.settings``
(``subsidiary_id``, ``location_id``, ``department_id``, ``class_id``), ``shippingCost`` (+ ``shipMethod`` from
``ship_method_ids[code]``), addresses, and the ``item`` sublist: one line per canonical line with
``item.id`` (the internal id resolved by SKU), ``quantity``, ``rate``, ``amount`` = rate x quantity,
``tax1Amt`` (the line tax) and ``taxCode`` (``tax_code_id``); a line discount is NetSuite's usual
*discount item line* right after the line it discounts (``discount_item_id``; negative ``amount``).
Fields NetSuite has no standard place for travel in ``custbody_rc_*`` / ``custcol_rc_*`` custom fields
(canonical id, channel, exact placed-at time, taxes-included flag, shipping title and tax, line id), so
a read back reproduces the canonical order; an account without those fields sets ``custom_fields: false``.

Import (:func:`order_from_netsuite`) reads a salesOrder GET (``expandSubResources=true``). A header
``discountTotal`` beyond the line discounts is allocated over the lines by gross. When NetSuite's
``total`` differs from the canonical rule, the order keeps NetSuite's lines and is flagged
(``totals_mismatch``), never silently corrected.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from retailconnect.canonical import (
    CustomerContact,
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
    is_currency,
)
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from .. import wire
from ._common import address_from_netsuite, address_to_netsuite, dec, ref, setting

__all__ = ["order_from_netsuite", "order_to_netsuite"]


def _item_ref(sku: str | None, ctx: MapContext, item_ids: dict[str, str] | None, path: str) -> dict[str, Any]:
    if sku:
        iid = (item_ids or {}).get(sku) or ctx.refs.to_external("item", "netsuite", sku)
        if iid:
            return {"id": str(iid)}
        ctx.warn(f"{path}: NetSuite item id for SKU {sku!r} not resolved; sending refName only")
        return {"refName": sku}
    raise MappingError("order line has no SKU; NetSuite needs an item", context={"path": path})


def order_to_netsuite(
    order: Order,
    ctx: MapContext,
    *,
    external_id: str | None = None,
    customer_id: str | None = None,
    item_ids: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The salesOrder request body (amounts as Decimal; encode with ``wire.dumps``)."""
    cur = order.currency
    currency_ids = setting(ctx, "currency_ids") or {}
    body: dict[str, Any] = {
        "externalId": external_id or order.ref("netsuite_eid") or f"{order.channel}-{order.number}",
        "tranDate": order.placed_at.astimezone(UTC).date().isoformat(),
        "currency": {"id": str(currency_ids[cur])} if cur in currency_ids else {"refName": cur},
        "otherRefNum": order.number,
        "custbody_rc_order_id": str(order.id),
        "custbody_rc_channel": order.channel,
        "custbody_rc_placed_at": order.placed_at.astimezone(UTC).isoformat(),
        "custbody_rc_taxes_included": order.taxes_included,
    }
    cust = customer_id or setting(ctx, "default_customer_id")
    if cust:
        body["entity"] = {"id": str(cust)}
    for key, field in (
        ("subsidiary_id", "subsidiary"),
        ("location_id", "location"),
        ("department_id", "department"),
        ("class_id", "class"),
        ("custom_form_id", "customForm"),
    ):
        r = ref(setting(ctx, key))
        if r:
            body[field] = r
    if order.note:
        body["memo"] = order.note[:999]
    if order.customer.email:
        body["email"] = order.customer.email
    for field, addr in (
        ("shippingAddress", order.shipping_address),
        ("billingAddress", order.billing_address),
    ):
        a = address_to_netsuite(addr)
        if a:
            body[field] = a
    tax_code = ref(setting(ctx, "tax_code_id"))
    discount_item = setting(ctx, "discount_item_id")
    lines: list[dict[str, Any]] = []
    for i, ln in enumerate(order.lines):
        path = f"$.lines[{i}]"
        line: dict[str, Any] = {
            "item": _item_ref(ln.sku, ctx, item_ids, path + ".sku"),
            "quantity": ln.quantity,
            "rate": ln.unit_price.amount,
            "amount": ln.gross.amount,
            "description": ln.title[:999],
            "tax1Amt": ln.tax_total.amount,
        }
        if tax_code:
            line["taxCode"] = tax_code
        if ln.id:
            line["custcol_rc_line_id"] = ln.id
        lines.append(line)
        if not ln.discount_total.is_zero():
            if discount_item is None:
                ctx.warn(
                    f"{path}: no discount_item_id configured; discount line sent with refName 'Discount'"
                )
            lines.append(
                {
                    "item": {"id": str(discount_item)} if discount_item else {"refName": "Discount"},
                    "itemType": "Discount",
                    "amount": -ln.discount_total.amount,
                    "description": f"Discount: {ln.title}"[:999],
                }
            )
    body["item"] = {"items": lines}
    if order.shipping_lines:
        ship = Money.sum([s.price - s.discount_total for s in order.shipping_lines], cur)
        body["shippingCost"] = ship.amount
        body["custbody_rc_shipping_title"] = order.shipping_lines[0].title
        ship_tax = Money.sum([s.tax_total for s in order.shipping_lines], cur)
        if not ship_tax.is_zero():
            body["custbody_rc_shipping_tax"] = ship_tax.amount
        method = (
            (setting(ctx, "ship_method_ids") or {}).get(order.shipping_lines[0].code or "")
            or setting(ctx, "ship_method_id")
            or setting(ctx, "shipping_item")  # NetSuite's ship methods are shipping items
        )
        if method:
            body["shipMethod"] = {"id": str(method)}
    if setting(ctx, "custom_fields") is False:  # the account lacks the custbody_rc_* / custcol_rc_* fields
        body = {k: v for k, v in body.items() if not k.startswith("custbody_rc_")}
        for line in lines:
            line.pop("custcol_rc_line_id", None)
    return body


def _currency(so: wire.SalesOrder, ctx: MapContext) -> str:
    if so.currency is not None:
        for cand in (so.currency.refName, so.currency.id):
            if cand and len(cand) == 3 and is_currency(cand.upper()):
                return cand.upper()
        by_id = {str(v): k for k, v in (setting(ctx, "currency_ids") or {}).items()}
        if so.currency.id and so.currency.id in by_id:
            return str(by_id[so.currency.id])
    default = setting(ctx, "currency")
    if isinstance(default, str):
        return default
    raise MappingError(
        "cannot tell the order currency (set currency_ids or currency in the NetSuite settings)",
        context={"path": "$.currency"},
    )


def _is_discount_line(raw: wire.SalesOrderLine, ctx: MapContext) -> bool:
    itype = raw.itemType
    if isinstance(itype, dict):
        itype = itype.get("id") or itype.get("refName")
    if isinstance(itype, str) and itype.lower() == "discount":
        return True
    disc = setting(ctx, "discount_item_id")
    return bool(disc is not None and raw.item is not None and raw.item.id == str(disc))


def _placed_at(so: wire.SalesOrder, extra: dict[str, Any]) -> datetime:
    exact = extra.get("custbody_rc_placed_at")
    if isinstance(exact, str):
        try:
            dt = datetime.fromisoformat(exact)
            if dt.tzinfo is not None:
                return dt
        except ValueError:
            pass
    for field in ("tranDate", "createdDate"):
        val = getattr(so, field, None) or extra.get(field)
        if isinstance(val, str) and val:
            try:
                dt = datetime.fromisoformat(val.replace("Z", "+00:00"))
            except ValueError:
                raise MappingError(f"{field} {val!r} is not a date", context={"path": f"$.{field}"}) from None
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise MappingError("salesOrder has no tranDate", context={"path": "$.tranDate"})


_STATUS = {"C": OrderStatus.CANCELLED, "H": OrderStatus.CLOSED}
_FULFIL = {"D": FulfillmentStatus.PARTIAL, "E": FulfillmentStatus.PARTIAL, "F": FulfillmentStatus.FULFILLED,
           "G": FulfillmentStatus.FULFILLED}  # fmt: skip


def order_from_netsuite(payload: dict[str, Any] | wire.SalesOrder, ctx: MapContext) -> Order:
    """A canonical Order from a NetSuite salesOrder record (GET with ``expandSubResources=true``)."""
    try:
        so = payload if isinstance(payload, wire.SalesOrder) else wire.SalesOrder.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise MappingError(f"not a NetSuite salesOrder: {err['msg']}", context={"path": path}) from None
    extra: dict[str, Any] = dict(so.model_extra or {})
    cur = _currency(so, ctx)
    if so.item is None or so.item.items is None:
        raise MappingError(
            "salesOrder item sublist missing or not expanded (GET with expandSubResources=true)",
            context={"path": "$.item.items"},
        )
    z = Money.zero(cur)
    drafts: list[dict[str, Any]] = []
    for i, raw in enumerate(so.item.items):
        path = f"$.item.items[{i}]"
        if _is_discount_line(raw, ctx):
            if not drafts:
                raise MappingError("discount line before any item line", context={"path": path})
            drafts[-1]["discount"] = drafts[-1]["discount"] + Money.of(
                abs(dec(raw.amount, path + ".amount")), cur
            )
            continue
        if raw.item is None:
            raise MappingError("line has no item", context={"path": path + ".item"})
        qty_d = dec(raw.quantity if raw.quantity is not None else 1, path + ".quantity")
        if qty_d != qty_d.to_integral_value():
            raise MappingError(
                f"fractional quantity {qty_d} not supported", context={"path": path + ".quantity"}
            )
        qty = int(qty_d)
        rate = raw.rate
        if rate is None:
            amount = dec(raw.amount, path + ".amount")
            rate = amount / qty if qty else amount
        line_extra = raw.model_extra or {}
        drafts.append(
            {
                "id": line_extra.get("custcol_rc_line_id")
                or (str(raw.line) if raw.line is not None else None),
                "sku": raw.item.refName or None,
                "title": raw.description or raw.item.refName or f"item {raw.item.id}",
                "quantity": qty,
                "unit_price": Money.of(dec(rate, path + ".rate"), cur),
                "discount": z,
                "tax": Money.of(dec(raw.tax1Amt, path + ".tax1Amt"), cur) if raw.tax1Amt is not None else z,
                "refs": {"netsuite_item": raw.item.id} if raw.item.id else {},
            }
        )
    if not drafts:
        raise MappingError("salesOrder has no item lines", context={"path": "$.item.items"})
    header_disc = Money.of(abs(dec(so.discountTotal, "$.discountTotal")), cur) if so.discountTotal else z
    if not header_disc.is_zero():
        weights = [(d["unit_price"] * d["quantity"]).minor for d in drafts]
        if sum(weights) > 0:
            for d, part in zip(drafts, allocate(header_disc, weights), strict=True):
                d["discount"] = d["discount"] + part
    lines = [
        OrderLine(
            id=d["id"],
            sku=d["sku"],
            title=d["title"],
            quantity=d["quantity"],
            unit_price=d["unit_price"],
            discount_total=d["discount"],
            tax_total=d["tax"],
            line_total=d["unit_price"] * d["quantity"] - d["discount"],
            tax_lines=[TaxLine(title="tax", amount=d["tax"])] if not d["tax"].is_zero() else [],
            external_refs=d["refs"],
        )
        for d in drafts
    ]
    shipping: list[ShippingLine] = []
    if so.shippingCost:
        ship_tax_raw = extra.get("custbody_rc_shipping_tax")
        ship_tax = (
            Money.of(dec(ship_tax_raw, "$.custbody_rc_shipping_tax"), cur) if ship_tax_raw is not None else z
        )
        method = extra.get("shipMethod")
        title = extra.get("custbody_rc_shipping_title") or (
            method.get("refName") if isinstance(method, dict) else None
        )
        shipping.append(
            ShippingLine(
                code=method.get("id") if isinstance(method, dict) else None,
                title=title or "Shipping",
                price=Money.of(dec(so.shippingCost, "$.shippingCost"), cur),
                discount_total=z,
                tax_total=ship_tax,
                tax_lines=[TaxLine(title="shipping tax", amount=ship_tax)] if not ship_tax.is_zero() else [],
            )
        )
    taxes_included = bool(extra.get("custbody_rc_taxes_included", False))
    subtotal = Money.sum([ln.gross for ln in lines], cur)
    discounts = Money.sum([ln.discount_total for ln in lines], cur)
    ship_total = Money.sum([s.price - s.discount_total for s in shipping], cur)
    tax_total = Money.sum([ln.tax_total for ln in lines], cur) + Money.sum(
        [s.tax_total for s in shipping], cur
    )
    grand = subtotal - discounts + ship_total + (z if taxes_included else tax_total)
    mismatch = None
    if so.total is not None:
        ns_total = Money.of(dec(so.total, "$.total"), cur)
        if ns_total != grand:
            mismatch = f"NetSuite total {ns_total.amount} != canonical grand total {grand.amount}"
            grand = ns_total
    status_id = so.orderStatus.id if so.orderStatus else None
    order_id: Any = extra.get("custbody_rc_order_id")
    try:
        oid = uuid.UUID(str(order_id)) if order_id else None
    except ValueError:
        oid = None
    refs = {"netsuite": so.id} if so.id else {}
    if so.externalId:
        refs["netsuite_eid"] = so.externalId
    kwargs: dict[str, Any] = {}
    if oid:
        kwargs["id"] = oid
    billing = address_from_netsuite(extra.get("billingAddress"))
    try:
        order = Order(
            **kwargs,
            external_refs=refs,
            number=so.otherRefNum or so.tranId or so.externalId or so.id or "",
            channel=str(extra.get("custbody_rc_channel") or ctx.channel or "netsuite"),
            tenant=ctx.tenant,
            currency=cur,
            placed_at=_placed_at(so, extra),
            customer=CustomerContact(
                email=so.email,
                first_name=billing.first_name if billing else None,
                last_name=billing.last_name if billing else None,
            ),
            billing_address=billing,
            shipping_address=address_from_netsuite(extra.get("shippingAddress")),
            lines=lines,
            shipping_lines=shipping,
            totals=OrderTotals(
                subtotal=subtotal,
                discount_total=discounts,
                shipping_total=ship_total,
                tax_total=tax_total,
                grand_total=grand,
            ),
            taxes_included=taxes_included,
            status=_STATUS.get(status_id or "", OrderStatus.OPEN),
            fulfillment_status=_FULFIL.get(status_id or "", FulfillmentStatus.UNFULFILLED),
            note=so.memo,
            totals_mismatch=mismatch,
            extra={"netsuite": {"id": so.id, "tranId": so.tranId, "externalId": so.externalId,
                                "entity": so.entity.id if so.entity else None}},
        )  # fmt: skip
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise MappingError(
            f"salesOrder does not make a valid order: {err['msg']}", context={"path": path}
        ) from None
    if mismatch is None and check_totals(order):  # pragma: no cover - guarded by construction
        raise MappingError("totals do not reconcile", context={"path": "$.total"})
    return order
