"""Mappers between canonical objects and the generic WMS contract documents."""

from .order import fulfillment_request_to_wms as fulfillment_request_to_wms
from .returns import return_from_wms as return_from_wms
from .returns import return_to_wms as return_to_wms
from .shipment import shipment_from_wms as shipment_from_wms
from .shipment import shipment_to_wms as shipment_to_wms
from .stock_movement import stock_movement_from_wms as stock_movement_from_wms
from .stock_movement import stock_movement_to_wms as stock_movement_to_wms

__all__ = [
    "fulfillment_request_to_wms",
    "return_from_wms",
    "return_to_wms",
    "shipment_from_wms",
    "shipment_to_wms",
    "stock_movement_from_wms",
    "stock_movement_to_wms",
]
