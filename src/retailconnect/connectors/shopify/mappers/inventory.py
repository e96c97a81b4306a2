"""Shopify inventory level (inventory_levels/update webhook) -> canonical InventoryLevel.

The payload names an inventory item and a location, not a SKU. The SKU comes from
``ctx.settings["sku_by_inventory_item"]`` ({inventory_item_id: sku}, filled by the flow from its catalogue
bindings); without it the level keeps the placeholder ``shopify-inventory-item:<id>`` and a warning says so.
Locations map through ``ctx.settings["location_by_id"]`` the same way (else the Shopify location id).
"""

from __future__ import annotations

from typing import Any

from retailconnect.canonical import InventoryLevel
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._common import guarded, ts, unwrap

__all__ = ["inventory_level_from_shopify"]


@guarded
def inventory_level_from_shopify(payload: Any, ctx: MapContext) -> InventoryLevel:
    lv = unwrap(payload, "inventory_level")
    item = lv.get("inventory_item_id")
    loc = lv.get("location_id")
    if item is None:
        raise MappingError("missing inventory_item_id", context={"path": "$.inventory_item_id"})
    if loc is None:
        raise MappingError("missing location_id", context={"path": "$.location_id"})
    skus = ctx.settings.get("sku_by_inventory_item") or {}
    locs = ctx.settings.get("location_by_id") or {}
    sku = skus.get(str(item)) if isinstance(skus, dict) else None
    if not sku:
        sku = f"shopify-inventory-item:{item}"
        ctx.warn(f"inventory item {item} has no known SKU; kept as {sku!r}")
    available = lv.get("available")
    if available is None:
        ctx.warn("available is null (item not tracked at this location); read as 0")
        available = 0
    if not isinstance(available, int) or isinstance(available, bool):
        raise MappingError(
            f"available must be an integer, got {available!r}", context={"path": "$.available"}
        )
    location = locs.get(str(loc)) if isinstance(locs, dict) else None
    extra: dict[str, Any] = (
        {"updated_at": ts(lv["updated_at"], "$.updated_at")} if lv.get("updated_at") else {}
    )
    return InventoryLevel(
        **extra,
        external_refs={"shopify_inventory_item": str(item), "shopify_location": str(loc)},
        sku=str(sku),
        location=str(location or loc),
        on_hand=available,
        available=max(0, available),
    )
