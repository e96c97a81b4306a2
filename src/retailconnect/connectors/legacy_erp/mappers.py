"""Canonical <-> legacy flat-file rows."""

from __future__ import annotations

from retailconnect.canonical import Order, Shipment

__all__ = ["order_to_rows", "shipment_to_rows"]


def order_to_rows(order: Order, order_ref: str) -> list[dict[str, str]]:
    c = order.customer
    name = " ".join(p for p in (c.first_name, c.last_name) if p)
    t = order.totals
    rows = []
    for ln in order.lines:
        rows.append(
            {
                "order_ref": order_ref,
                "order_date": order.placed_at.date().isoformat(),
                "customer_email": c.email or "",
                "customer_name": name,
                "currency": order.currency,
                "sku": ln.sku or "",
                "quantity": str(ln.quantity),
                "unit_price": format(ln.unit_price.amount, "f"),
                "line_discount": format(ln.discount_total.amount, "f"),
                "line_tax": format(ln.tax_total.amount, "f"),
                "line_total": format(ln.line_total.amount, "f"),
                "shipping_total": format(t.shipping_total.amount, "f"),
                "tax_total": format(t.tax_total.amount, "f"),
                "order_total": format(t.grand_total.amount, "f"),
                "taxes_included": "Y" if order.taxes_included else "N",
            }
        )
    return rows


def shipment_to_rows(shipment: Shipment, order_ref: str, shipment_ref: str) -> list[dict[str, str]]:
    return [
        {
            "shipment_ref": shipment_ref,
            "order_ref": order_ref,
            "sku": ln.sku,
            "quantity": str(ln.quantity),
            "carrier": shipment.carrier or "",
            "tracking_number": shipment.tracking_number or "",
            "shipped_at": shipment.shipped_at.isoformat(),
        }
        for ln in shipment.lines
    ]
