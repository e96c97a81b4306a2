"""JSON Schemas (draft 2020-12) of the generic WMS / 3PL contract (docs/connectors/wms.md).

The single source: ``docs/connectors/schemas/wms/*.json`` are written from here (``write_schemas``) and a
test keeps them equal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SCHEMAS", "write_schemas"]

BASE = "https://retailconnect.dev/schemas/wms/1.0"
_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_TS = {"type": "string", "format": "date-time"}
_QTY = {"type": "integer", "minimum": 1}
_SKU = {"type": "string", "minLength": 1, "maxLength": 100}

_ADDRESS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]},
        "line1": {"type": ["string", "null"]},
        "line2": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
        "region": {"type": ["string", "null"]},
        "postal_code": {"type": ["string", "null"]},
        "country": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
        "phone": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
    },
}


def _envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE}/{event_type}.json",
        "title": f"WMS webhook {event_type}",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "occurred_at", "warehouse", "data"],
        "properties": {
            "id": _ID,
            "type": {"const": event_type},
            "occurred_at": _TS,
            "warehouse": _ID,
            "data": data,
        },
    }


FULFILLMENT_REQUEST = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"{BASE}/fulfillment-request.json",
    "title": "POST /v1/fulfillment-requests body",
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "order_number", "ship_to", "lines"],
    "properties": {
        "external_id": _ID,
        "order_number": _ID,
        "channel": {"type": ["string", "null"]},
        "warehouse": {"type": ["string", "null"]},
        "requested_at": _TS,
        "ship_to": _ADDRESS,
        "shipping_method": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {"code": {"type": ["string", "null"]}, "title": {"type": ["string", "null"]}},
        },
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "quantity"],
                "properties": {
                    "line_id": {"type": ["string", "null"]},
                    "sku": _SKU,
                    "quantity": _QTY,
                    "title": {"type": ["string", "null"]},
                },
            },
        },
        "note": {"type": ["string", "null"]},
    },
}

RETURN_REQUEST = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"{BASE}/return-request.json",
    "title": "POST /v1/returns body (an expected return)",
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "order_number", "lines"],
    "properties": {
        "external_id": _ID,
        "order_number": _ID,
        "rma_number": {"type": ["string", "null"]},
        "channel": {"type": ["string", "null"]},
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "quantity"],
                "properties": {
                    "line_id": {"type": ["string", "null"]},
                    "sku": _SKU,
                    "quantity": _QTY,
                    "reason": {"type": ["string", "null"]},
                },
            },
        },
        "note": {"type": ["string", "null"]},
    },
}

SHIPMENT_DISPATCHED = _envelope(
    "shipment.dispatched",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["shipment_id", "external_id", "order_number", "lines", "shipped_at"],
        "properties": {
            "shipment_id": _ID,
            "fulfillment_request_id": {"type": ["string", "null"]},
            "external_id": _ID,
            "order_number": _ID,
            "carrier": {"type": ["string", "null"]},
            "service": {"type": ["string", "null"]},
            "tracking_number": {"type": ["string", "null"]},
            "tracking_url": {"type": ["string", "null"]},
            "shipped_at": _TS,
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sku", "quantity"],
                    "properties": {"line_id": {"type": ["string", "null"]}, "sku": _SKU, "quantity": _QTY},
                },
            },
        },
    },
)

MOVEMENT_KINDS = [
    "receipt",
    "pick",
    "adjustment",
    "cycle_count",
    "damage",
    "return",
    "transfer_in",
    "transfer_out",
]
STOCK_MOVEMENT = _envelope(
    "stock.movement",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["movement_id", "sku", "location", "kind", "occurred_at"],
        "properties": {
            "movement_id": _ID,
            "sku": _SKU,
            "location": _ID,
            "kind": {"enum": MOVEMENT_KINDS},
            "quantity": {"type": "integer", "description": "signed: receipts +, picks/damages -"},
            "counted": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "cycle_count: counted on hand",
            },
            "reference": {"type": ["string", "null"]},
            "occurred_at": _TS,
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "cycle_count"}}},
                "then": {"required": ["counted"], "properties": {"counted": {"type": "integer"}}},
                "else": {"required": ["quantity"], "properties": {"quantity": {"not": {"const": 0}}}},
            }
        ],
    },
)

CONDITIONS = ["new", "opened", "damaged", "defective", "missing"]
DISPOSITIONS = ["restock", "write_off", "refurbish", "return_to_vendor", "refused"]
RETURN_INSPECTED = _envelope(
    "return.inspected",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["return_id", "external_id", "order_number", "inspected_at", "lines"],
        "properties": {
            "return_id": _ID,
            "external_id": _ID,
            "order_number": _ID,
            "rma_number": {"type": ["string", "null"]},
            "inspected_at": _TS,
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sku", "quantity", "condition", "disposition"],
                    "properties": {
                        "line_id": {"type": ["string", "null"]},
                        "sku": _SKU,
                        "quantity": _QTY,
                        "condition": {"enum": CONDITIONS},
                        "disposition": {"enum": DISPOSITIONS},
                        "note": {"type": ["string", "null"]},
                    },
                },
            },
        },
    },
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "fulfillment-request": FULFILLMENT_REQUEST,
    "return-request": RETURN_REQUEST,
    "shipment.dispatched": SHIPMENT_DISPATCHED,
    "stock.movement": STOCK_MOVEMENT,
    "return.inspected": RETURN_INSPECTED,
}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in SCHEMAS.items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2) + "\n")
        out.append(path)
    return out
