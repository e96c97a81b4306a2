"""WMS ``stock.movement`` <-> canonical StockMovement."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from retailconnect.canonical import MovementKind, StockMovement, utcnow
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from .. import wire
from ._validate import validate

__all__ = ["stock_movement_from_wms", "stock_movement_to_wms"]


def stock_movement_from_wms(payload: dict[str, Any], ctx: MapContext) -> StockMovement:
    data = wire.MovementData.model_validate(validate("stock.movement", payload))
    try:
        return StockMovement(
            external_refs={"wms": data.movement_id},
            sku=data.sku,
            location=data.location,
            kind=MovementKind(data.kind),
            quantity=data.quantity,
            counted=data.counted,
            occurred_at=data.occurred_at,
            reference=data.reference,
            source_system="wms",
        )
    except ValueError as exc:
        raise MappingError(
            f"stock.movement does not make a valid movement: {exc}", context={"path": "$.data"}
        ) from None


def stock_movement_to_wms(
    m: StockMovement, ctx: MapContext, *, event_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "movement_id": m.ref("wms") or str(m.id),
        "sku": m.sku,
        "location": m.location,
        "kind": m.kind.value,
        "reference": m.reference,
        "occurred_at": m.occurred_at.astimezone(UTC).isoformat(),
    }
    if m.kind == MovementKind.CYCLE_COUNT:
        data["counted"] = m.counted
    else:
        data["quantity"] = m.quantity
    return {
        "id": event_id or f"evt_{m.id.hex}",
        "type": "stock.movement",
        "occurred_at": utcnow().isoformat(),
        "warehouse": str(ctx.settings.get("warehouse", m.location)),
        "data": data,
    }
