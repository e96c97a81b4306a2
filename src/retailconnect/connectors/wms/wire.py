"""Pydantic models of the WMS webhook documents (the JSON Schemas in ``schemas.py`` are the contract;
these parse what passed it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Event", "MovementData", "ReturnInspectedData", "ShipmentData"]


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Line(_M):
    line_id: str | None = None
    sku: str
    quantity: int


class ShipmentData(_M):
    shipment_id: str
    fulfillment_request_id: str | None = None
    external_id: str
    order_number: str
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime
    lines: list[Line]


class MovementData(_M):
    movement_id: str
    sku: str
    location: str
    kind: str
    quantity: int = 0
    counted: int | None = None
    reference: str | None = None
    occurred_at: datetime


class InspectedLine(Line):
    condition: str
    disposition: str
    note: str | None = None


class ReturnInspectedData(_M):
    return_id: str
    external_id: str
    order_number: str
    rma_number: str | None = None
    inspected_at: datetime
    lines: list[InspectedLine]


class Event(_M):
    id: str
    type: str
    occurred_at: datetime
    warehouse: str
    data: dict[str, Any]
