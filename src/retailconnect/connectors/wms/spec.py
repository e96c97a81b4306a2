"""The generic WMS / 3PL connector's declaration."""

from __future__ import annotations

from retailconnect.connectors._kit import Capability, ConnectorSpec, RateLimitSpec

from .client import WmsClient
from .mappers import (
    fulfillment_request_to_wms,
    return_from_wms,
    return_to_wms,
    shipment_from_wms,
    stock_movement_from_wms,
)

__all__ = ["spec"]

spec = ConnectorSpec(
    system="wms",
    title="Generic WMS / 3PL (REST + signed webhooks, docs/connectors/wms.md)",
    capabilities=frozenset(
        {
            Capability.FULFILLMENT_REQUEST_OUT,
            Capability.FULFILLMENT_IN,
            Capability.INVENTORY_IN,
            Capability.RETURNS_IN,
            Capability.RETURNS_OUT,
            Capability.WEBHOOKS_IN,
        }
    ),
    limits=RateLimitSpec(kind="rps", rps=20.0, source="contract default; a 3PL states its own"),
    webhook_verifier=None,  # built per warehouse from its secret: WmsWebhookVerifier(secret)
    client_factory=WmsClient,
    mappers={
        "shipment_in": shipment_from_wms,
        "stock_movement_in": stock_movement_from_wms,
        "return_in": return_from_wms,
        "order_out": fulfillment_request_to_wms,
        "return_out": return_to_wms,
    },
    api_version="1.0",
    docs="docs/connectors/wms.md",
)
