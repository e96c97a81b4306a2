"""Generic WMS / 3PL connector: a small REST + signed-webhook contract (docs/connectors/wms.md).
``WmsClient`` implements ``connectors._kit.WarehouseSystem``; ``WmsWebhookVerifier`` checks deliveries."""

from .auth import WmsApiKey as WmsApiKey
from .client import WmsClient as WmsClient
from .mappers import fulfillment_request_to_wms as fulfillment_request_to_wms
from .mappers import return_from_wms as return_from_wms
from .mappers import return_to_wms as return_to_wms
from .mappers import shipment_from_wms as shipment_from_wms
from .mappers import shipment_to_wms as shipment_to_wms
from .mappers import stock_movement_from_wms as stock_movement_from_wms
from .mappers import stock_movement_to_wms as stock_movement_to_wms
from .schemas import SCHEMAS as SCHEMAS
from .spec import spec as spec
from .webhooks import WmsWebhookVerifier as WmsWebhookVerifier
from .webhooks import sign_wms as sign_wms

CLI_MAPPERS = {
    "shipment": shipment_from_wms,
    "stock_movement": stock_movement_from_wms,
    "return": return_from_wms,
}
CLI_EXPORTERS = {
    "order": fulfillment_request_to_wms,
    "return": return_to_wms,
    "shipment": shipment_to_wms,
    "stock_movement": stock_movement_to_wms,
}

__all__ = [
    "CLI_EXPORTERS",
    "CLI_MAPPERS",
    "SCHEMAS",
    "WmsApiKey",
    "WmsClient",
    "WmsWebhookVerifier",
    "fulfillment_request_to_wms",
    "return_from_wms",
    "return_to_wms",
    "shipment_from_wms",
    "shipment_to_wms",
    "sign_wms",
    "spec",
    "stock_movement_from_wms",
    "stock_movement_to_wms",
]
