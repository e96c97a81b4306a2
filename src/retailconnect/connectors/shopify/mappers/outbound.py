"""Canonical -> Shopify GraphQL Admin inputs (2025-01). Pure functions; the client resolves ids and sends them.

``CLI_EXPORTERS`` (``retailconnect map --to shopify OBJECT FILE``) show the bodies the client would send; ids the
client would look up at run time (inventory item and location GIDs) come from ``ctx.settings`` when given, else
appear as ``<...>`` placeholders naming what is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retailconnect.canonical import InventoryLevel, Refund, Shipment
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

__all__ = [
    "inventory_to_shopify",
    "refund_marker",
    "refund_to_shopify",
    "tracking_to_shopify",
]


def _gid(kind: str, value: str | int) -> str:
    s = str(value)
    return s if s.startswith("gid://") else f"gid://shopify/{kind}/{s}"


def tracking_to_shopify(shipment: Shipment) -> dict[str, str]:
    """FulfillmentTrackingInput from a shipment (only the fields it has)."""
    return {
        k: v
        for k, v in (
            ("company", shipment.carrier),
            ("number", shipment.tracking_number),
            ("url", shipment.tracking_url),
        )
        if v
    }


def refund_marker(refund: Refund) -> str:
    return f"[retailconnect:{refund.id}]"


def refund_to_shopify(
    refund: Refund, *, order_id: str, parent: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """RefundInput: lines by Shopify line item id, shipping, and (with ``parent``, the sale/capture transaction)
    a REFUND transaction of ``refund.total``. The note carries the idempotency marker."""
    oid = _gid("Order", order_id)
    inp: dict[str, Any] = {
        "orderId": oid,
        "refundLineItems": [
            {
                "lineItemId": _gid("LineItem", ln.order_line_id),
                "quantity": ln.quantity,
                "restockType": "RETURN" if ln.restock else "NO_RESTOCK",
            }
            for ln in refund.lines
            if ln.order_line_id and ln.quantity > 0
        ],
        "notify": False,
        "note": f"{refund.reason or 'refund'} {refund_marker(refund)}",
    }
    if refund.shipping is not None and not refund.shipping.is_zero():
        inp["shipping"] = {"amount": format(refund.shipping.amount, "f")}
    if parent is not None and not refund.total.is_zero():
        inp["transactions"] = [
            {
                "orderId": oid,
                "parentId": parent["id"],
                "gateway": parent.get("gateway"),
                "kind": "REFUND",
                "amount": format(refund.total.amount, "f"),
            }
        ]
    return inp


def inventory_to_shopify(
    levels: list[InventoryLevel], *, inventory_items: Mapping[str, str], locations: Mapping[str, str]
) -> dict[str, Any]:
    """InventorySetQuantitiesInput ("available", reason "correction", compare ignored) for up to 250 levels."""
    if len(levels) > 250:
        raise MappingError(
            "inventorySetQuantities takes at most 250 quantities", context={"path": "$.quantities"}
        )
    return {
        "name": "available",
        "reason": "correction",
        "ignoreCompareQuantity": True,
        "quantities": [
            {
                "inventoryItemId": inventory_items.get(lv.sku) or f"<InventoryItem of SKU {lv.sku}>",
                "locationId": locations.get(lv.location) or f"<Location {lv.location}>",
                "quantity": int(lv.available if lv.available is not None else lv.on_hand),
            }
            for lv in levels
        ],
    }


def _settings_map(ctx: MapContext, key: str) -> Mapping[str, str]:
    v = ctx.settings.get(key)
    return v if isinstance(v, dict) else {}


def export_inventory_level(level: InventoryLevel, ctx: MapContext) -> dict[str, Any]:
    return {
        "input": inventory_to_shopify(
            [level],
            inventory_items=_settings_map(ctx, "inventory_items"),
            locations=_settings_map(ctx, "locations"),
        )
    }


def export_refund(refund: Refund, ctx: MapContext) -> dict[str, Any]:
    order_id = refund.external_refs.get("shopify_order") or ctx.settings.get("order_id")
    if not order_id:
        raise MappingError(
            "the refund names no Shopify order", context={"path": "$.external_refs.shopify_order"}
        )
    parent = {"id": "<sale or capture transaction of the order>", "gateway": "<its gateway>"}
    return {"input": refund_to_shopify(refund, order_id=str(order_id), parent=parent)}


def export_shipment(shipment: Shipment, ctx: MapContext) -> dict[str, Any]:
    return {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": "<open fulfillment orders of the order, matched by line id or SKU>",
            "trackingInfo": tracking_to_shopify(shipment),
            "notifyCustomer": True,
        },
        "lines": [ln.model_dump(mode="json") for ln in shipment.lines],
    }
