"""JSON Schema export of the canonical objects, one file per object, each carrying its version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .event import CloudEvent
from .fulfilment import Refund, Return, Settlement, Shipment
from .inventory import InventoryLevel, StockMovement
from .order import Order
from .party import Customer
from .pricing import Price, Promotion
from .product import Product

__all__ = ["SCHEMAS", "SCHEMA_VERSION", "export_schemas", "schema_for"]

SCHEMA_VERSION = "1.0.0"
BASE_URI = "https://retailconnect.dev/schemas"

SCHEMAS: dict[str, type[BaseModel]] = {
    "order": Order,
    "customer": Customer,
    "product": Product,
    "price": Price,
    "promotion": Promotion,
    "inventory_level": InventoryLevel,
    "stock_movement": StockMovement,
    "shipment": Shipment,
    "return": Return,
    "refund": Refund,
    "settlement": Settlement,
    "event": CloudEvent,
}


def schema_for(name: str) -> dict[str, Any]:
    model = SCHEMAS[name]
    schema = model.model_json_schema(mode="serialization")
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URI}/{name}/{SCHEMA_VERSION}",
        "version": SCHEMA_VERSION,
    }
    out.update(schema)
    return out


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
