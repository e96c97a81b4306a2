"""Legacy ERP connector: a flat-file (CSV drop) ERP, the batch pattern the hub migrates away from."""

from typing import Any

from retailconnect.canonical import Order
from retailconnect.connectors._kit import MapContext

from .client import LegacyErpClient as LegacyErpClient
from .mappers import order_to_rows as order_to_rows
from .spec import spec as spec


def _export_order(order: Order, ctx: MapContext) -> Any:
    return order_to_rows(order, order.external_refs.get("erp", order.number))


CLI_MAPPERS: dict[str, Any] = {}
CLI_EXPORTERS = {"order": _export_order}

__all__ = ["CLI_EXPORTERS", "CLI_MAPPERS", "LegacyErpClient", "order_to_rows", "spec"]
