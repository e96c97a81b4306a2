"""Shopify fulfillment (fulfillments/create webhook) -> canonical Shipment."""

from __future__ import annotations

from typing import Any

from retailconnect.canonical import Shipment, ShipmentLine
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._common import at, clean, guarded, items, sid, ts, unwrap

__all__ = ["shipment_from_shopify"]


@guarded
def shipment_from_shopify(payload: Any, ctx: MapContext) -> Shipment:
    f = unwrap(payload, "fulfillment")
    if f.get("order_id") is None:
        raise MappingError("missing order_id", context={"path": "$.order_id"})
    lines = []
    for i, li in enumerate(items(f, "line_items", "$")):
        at(f"$.line_items[{i}]")
        sku = clean(li.get("sku")) or f"shopify-variant:{li.get('variant_id')}"
        qty = li.get("quantity")
        if not isinstance(qty, int) or qty <= 0:
            raise MappingError(
                f"quantity must be a positive integer, got {qty!r}",
                context={"path": f"$.line_items[{i}].quantity"},
            )
        lines.append(ShipmentLine(sku=sku, quantity=qty, order_line_id=sid(li.get("id"))))
    if not lines:
        raise MappingError("a fulfillment needs at least one line item", context={"path": "$.line_items"})
    numbers = f.get("tracking_numbers") or ([f["tracking_number"]] if f.get("tracking_number") else [])
    urls = f.get("tracking_urls") or ([f["tracking_url"]] if f.get("tracking_url") else [])
    extra: dict[str, Any] = {}
    if f.get("created_at"):
        extra["shipped_at"] = ts(f["created_at"], "$.created_at")
    return Shipment(
        **extra,
        external_refs={"shopify": str(f.get("id")), "shopify_order": str(f["order_id"])},
        order_number=str(f.get("name") or f["order_id"]).split(".")[0],
        channel=ctx.channel or "shopify",
        location=sid(f.get("location_id")),
        lines=lines,
        carrier=clean(f.get("tracking_company")),
        tracking_number=clean(numbers[0]) if numbers else None,
        tracking_url=clean(urls[0]) if urls else None,
    )
