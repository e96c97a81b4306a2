"""Returns: canonical Return -> the expected-return request (``POST /v1/returns``); WMS
``return.inspected`` -> canonical Return with per-line condition and disposition."""

from __future__ import annotations

from typing import Any

from retailconnect.canonical import Disposition, ItemCondition, Return, ReturnLine, ReturnStatus
from retailconnect.connectors._kit import MapContext

from .. import wire
from ._validate import validate

__all__ = ["return_from_wms", "return_to_wms"]


def return_to_wms(r: Return, ctx: MapContext, *, external_id: str | None = None) -> dict[str, Any]:
    body = {
        "external_id": external_id or r.ref("wms_return") or str(r.id),
        "order_number": r.order_number,
        "rma_number": r.rma_number,
        "channel": r.channel,
        "lines": [
            {"line_id": ln.order_line_id, "sku": ln.sku, "quantity": ln.quantity, "reason": ln.reason}
            for ln in r.lines
        ],
        "note": r.note,
    }
    return validate("return-request", body)


def return_from_wms(payload: dict[str, Any], ctx: MapContext) -> Return:
    data = wire.ReturnInspectedData.model_validate(validate("return.inspected", payload))
    return Return(
        external_refs={"wms": data.return_id, "wms_return": data.external_id},
        order_number=data.order_number,
        channel=ctx.channel,
        rma_number=data.rma_number,
        status=ReturnStatus.INSPECTED,
        lines=[
            ReturnLine(
                sku=ln.sku,
                quantity=ln.quantity,
                order_line_id=ln.line_id,
                condition=ItemCondition(ln.condition),
                disposition=Disposition(ln.disposition),
                reason=ln.note,
            )
            for ln in data.lines
        ],
    )
