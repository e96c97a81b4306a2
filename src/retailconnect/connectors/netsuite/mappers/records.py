"""Canonical Customer / Shipment / payment / Return / Refund -> NetSuite record bodies.

- customer: ``PUT /customer/eid:{externalId}`` (individual: ``isPerson``, names, email, phone, subsidiary)
- itemFulfillment: body of ``POST /salesOrder/{id}/!transform/itemFulfillment``; the ``item`` sublist
  names the sales order lines shipped (``orderLine``, ``itemReceive``, ``quantity``), tracking goes in the
  ``package`` sublist, ``shipStatus`` C = Shipped
- customerPayment: ``PUT /customerPayment/eid:{externalId}`` (``customer``, ``payment``, ``memo``)
- returnAuthorization: body of ``POST /salesOrder/{id}/!transform/returnAuthorization`` (lines by
  ``orderLine``)
- creditMemo / cashRefund: ``PUT /{type}/eid:{externalId}`` with item lines (SKU -> item id; lines
  without a SKU, shipping and adjustments use ``refund_item_id`` from the settings)
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from retailconnect.canonical import Customer, CustomerContact, Money, Refund, Return, Shipment
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._common import ref, setting

__all__ = [
    "SalesOrderLineRef",
    "credit_to_netsuite",
    "customer_to_netsuite",
    "fulfillment_to_netsuite",
    "payment_to_netsuite",
    "return_authorization_to_netsuite",
]

SalesOrderLineRef = tuple[int, str, int]  # (line number, SKU / itemid, quantity ordered)


def customer_to_netsuite(
    c: Customer | CustomerContact, ctx: MapContext, *, external_id: str
) -> dict[str, Any]:
    email = c.email
    first = c.first_name or (email.split("@")[0] if email else None) or "Unknown"
    body: dict[str, Any] = {
        "externalId": external_id,
        "isPerson": True,
        "firstName": first[:32],
        "lastName": (c.last_name or "-")[:32],
    }
    if email:
        body["email"] = email
    if c.phone:
        body["phone"] = c.phone
    sub = ref(setting(ctx, "subsidiary_id"))
    if sub:
        body["subsidiary"] = sub
    return body


def _lines_by_sku(
    wanted: list[tuple[str, int]], so_lines: list[SalesOrderLineRef], what: str
) -> list[tuple[int, int]]:
    """Match (sku, qty) to sales order lines, first line with room first; MappingError names the SKU."""
    room = {ln: qty for ln, _, qty in so_lines}
    out: list[tuple[int, int]] = []
    for i, (sku, qty) in enumerate(wanted):
        left = qty
        for ln, line_sku, _ in so_lines:
            if line_sku != sku or room[ln] <= 0 or left <= 0:
                continue
            take = min(left, room[ln])
            room[ln] -= take
            left -= take
            out.append((ln, take))
        if left > 0:
            raise MappingError(
                f"{what} line {sku!r} x{qty} does not match the sales order lines",
                context={"path": f"$.lines[{i}]", "sku": sku},
            )
    return out


def fulfillment_to_netsuite(
    s: Shipment, ctx: MapContext, *, external_id: str, so_lines: list[SalesOrderLineRef]
) -> dict[str, Any]:
    matched = _lines_by_sku([(ln.sku, ln.quantity) for ln in s.lines], so_lines, "shipment")
    body: dict[str, Any] = {
        "externalId": external_id,
        "tranDate": s.shipped_at.astimezone(UTC).date().isoformat(),
        "shipStatus": {"id": "C"},
        "memo": " ".join(p for p in (s.carrier, s.service) if p) or None,
        "item": {"items": [{"orderLine": ln, "itemReceive": True, "quantity": q} for ln, q in matched]},
    }
    if s.tracking_number:
        body["package"] = {
            "items": [{"packageTrackingNumber": s.tracking_number, "packageDescr": s.carrier or ""}]
        }
    loc = ref(setting(ctx, "location_id"))
    if loc:
        body["location"] = loc
    return {k: v for k, v in body.items() if v is not None}


def payment_to_netsuite(
    amount: Money,
    ctx: MapContext,
    *,
    external_id: str,
    customer_id: str,
    order_external_id: str,
    reference: str | None = None,
) -> dict[str, Any]:
    currency_ids = setting(ctx, "currency_ids") or {}
    cur = amount.currency
    body: dict[str, Any] = {
        "externalId": external_id,
        "customer": {"id": customer_id},
        "payment": amount.amount,
        "currency": {"id": str(currency_ids[cur])} if cur in currency_ids else {"refName": cur},
        "memo": f"order {order_external_id}" + (f" ref {reference}" if reference else ""),
        "custbody_rc_order_external_id": order_external_id,
    }
    acct = ref(setting(ctx, "undeposited_funds_account_id"))
    if acct:
        body["account"] = acct
    return body


def return_authorization_to_netsuite(
    r: Return, ctx: MapContext, *, external_id: str, so_lines: list[SalesOrderLineRef]
) -> dict[str, Any]:
    matched = _lines_by_sku([(ln.sku, ln.quantity) for ln in r.lines], so_lines, "return")
    reasons = "; ".join(f"{ln.sku}: {ln.reason}" for ln in r.lines if ln.reason)
    body: dict[str, Any] = {
        "externalId": external_id,
        "tranDate": r.requested_at.astimezone(UTC).date().isoformat(),
        "otherRefNum": r.rma_number or r.order_number,
        "memo": (reasons or r.note or "")[:999] or None,
        "item": {"items": [{"orderLine": ln, "quantity": q} for ln, q in matched]},
    }
    return {k: v for k, v in body.items() if v is not None}


def credit_to_netsuite(
    refund: Refund,
    ctx: MapContext,
    *,
    external_id: str,
    customer_id: str,
    item_ids: dict[str, str],
) -> dict[str, Any]:
    cur = refund.currency
    other_item = setting(ctx, "refund_item_id")
    lines: list[dict[str, Any]] = []

    def _other(path: str) -> dict[str, str]:
        if other_item is None:
            raise MappingError(
                "a refund line without SKU (or shipping/adjustment) needs refund_item_id in the settings",
                context={"path": path},
            )
        return {"id": str(other_item)}

    for i, ln in enumerate(refund.lines):
        path = f"$.lines[{i}]"
        item = {"id": item_ids[ln.sku]} if ln.sku and ln.sku in item_ids else _other(path)
        qty = ln.quantity or 1
        line: dict[str, Any] = {"item": item, "quantity": qty, "amount": ln.amount.amount}
        if ln.quantity:
            line["rate"] = (ln.amount.amount / ln.quantity).quantize(ln.amount.amount)
        if ln.tax is not None:
            line["tax1Amt"] = ln.tax.amount
        lines.append(line)
    for label, extra in (("shipping", refund.shipping), ("adjustments", refund.adjustments)):
        if extra is not None and not extra.is_zero():
            lines.append(
                {"item": _other(f"$.{label}"), "quantity": 1, "amount": extra.amount, "description": label}
            )
    if not lines:
        lines.append({"item": _other("$.total"), "quantity": 1, "amount": refund.total.amount})
    currency_ids = setting(ctx, "currency_ids") or {}
    body: dict[str, Any] = {
        "externalId": external_id,
        "entity": {"id": customer_id},
        "tranDate": refund.created_at.astimezone(UTC).date().isoformat(),
        "currency": {"id": str(currency_ids[cur])} if cur in currency_ids else {"refName": cur},
        "otherRefNum": refund.order_number,
        "memo": (refund.reason or "")[:999] or None,
        "item": {"items": lines},
    }
    for key, field in (("subsidiary_id", "subsidiary"), ("location_id", "location")):
        r = ref(setting(ctx, key))
        if r:
            body[field] = r
    return {k: v for k, v in body.items() if v is not None}
