"""WMS ``shipment.dispatched`` <-> canonical Shipment."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from retailconnect.canonical import Shipment, ShipmentLine, ShipmentStatus, utcnow
from retailconnect.connectors._kit import MapContext

from .. import wire
from ._validate import envelope_meta, validate

__all__ = ["shipment_from_wms", "shipment_to_wms"]


def shipment_from_wms(payload: dict[str, Any], ctx: MapContext) -> Shipment:
    data = wire.ShipmentData.model_validate(validate("shipment.dispatched", payload))
    meta = envelope_meta(payload)
    return Shipment(
        external_refs={"wms": data.shipment_id, "wms_order": data.external_id},
        order_number=data.order_number,
        channel=ctx.channel,
        location=meta.get("warehouse"),
        lines=[ShipmentLine(sku=ln.sku, quantity=ln.quantity, order_line_id=ln.line_id) for ln in data.lines],
        carrier=data.carrier,
        service=data.service,
        tracking_number=data.tracking_number,
        tracking_url=data.tracking_url,
        status=ShipmentStatus.DISPATCHED,
        shipped_at=data.shipped_at,
    )


def shipment_to_wms(s: Shipment, ctx: MapContext, *, event_id: str | None = None) -> dict[str, Any]:
    """A ``shipment.dispatched`` event for ``s`` (what a WMS sends; used by tests, tools and the CLI)."""
    warehouse = s.location or str(ctx.settings.get("warehouse", "MAIN"))
    return {
        "id": event_id or f"evt_{s.id.hex}",
        "type": "shipment.dispatched",
        "occurred_at": utcnow().isoformat(),
        "warehouse": warehouse,
        "data": {
            "shipment_id": s.ref("wms") or str(s.id),
            "fulfillment_request_id": None,
            "external_id": s.ref("wms_order") or s.order_number,
            "order_number": s.order_number,
            "carrier": s.carrier,
            "service": s.service,
            "tracking_number": s.tracking_number,
            "tracking_url": s.tracking_url,
            "shipped_at": s.shipped_at.astimezone(UTC).isoformat(),
            "lines": [
                {"line_id": ln.order_line_id, "sku": ln.sku, "quantity": ln.quantity} for ln in s.lines
            ],
        },
    }
