"""canonical Order -> WMS fulfilment request (``POST /v1/fulfillment-requests``)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from retailconnect.canonical import Order
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._validate import validate

__all__ = ["fulfillment_request_to_wms"]


def fulfillment_request_to_wms(
    order: Order, ctx: MapContext, *, external_id: str | None = None
) -> dict[str, Any]:
    lines = []
    for i, ln in enumerate(order.lines):
        if not ln.requires_shipping or ln.gift_card or ln.quantity == 0:
            continue
        if not ln.sku:
            raise MappingError("a shippable line has no SKU", context={"path": f"$.lines[{i}].sku"})
        lines.append({"line_id": ln.id, "sku": ln.sku, "quantity": ln.quantity, "title": ln.title})
    if not lines:
        raise MappingError("the order has nothing to ship", context={"path": "$.lines"})
    a = order.shipping_address or order.billing_address
    ship_to: dict[str, Any] = {"email": order.customer.email}
    if a is not None:
        ship_to.update(
            {
                "name": " ".join(p for p in (a.first_name, a.last_name) if p) or None,
                "company": a.company,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "region": a.region_code,
                "postal_code": a.postal_code,
                "country": a.country_code,
                "phone": a.phone,
            }
        )
    method = order.shipping_lines[0] if order.shipping_lines else None
    body = {
        "external_id": external_id or f"{order.channel}-{order.number}",
        "order_number": order.number,
        "channel": order.channel,
        "warehouse": ctx.settings.get("warehouse"),
        "requested_at": order.placed_at.astimezone(UTC).isoformat(),
        "ship_to": ship_to,
        "shipping_method": {"code": method.code, "title": method.title} if method else None,
        "lines": lines,
        "note": order.note,
    }
    return validate("fulfillment-request", body)
