"""The Shopify connector's declaration."""

from __future__ import annotations

from retailconnect.connectors._kit import Capability, ConnectorSpec, RateLimitSpec

from .client import ShopifyClient
from .mappers import (
    inventory_level_from_shopify,
    order_from_shopify,
    product_from_shopify,
    refund_from_shopify,
    shipment_from_shopify,
)
from .webhooks import ShopifyWebhookVerifier

__all__ = ["spec"]

spec = ConnectorSpec(
    system="shopify",
    title="Shopify (GraphQL Admin API + webhooks)",
    capabilities=frozenset(
        {
            Capability.ORDERS_IN,
            Capability.WEBHOOKS_IN,
            Capability.INVENTORY_OUT,
            Capability.FULFILLMENT_OUT,
            Capability.REFUNDS_OUT,
            Capability.PRICES_OUT,
            Capability.CATALOG_IN,
            Capability.RETURNS_IN,
        }
    ),
    # Standard plan figures; the client reads the real ones from throttleStatus at run time
    # (restore rate 100/200/1000/2000 points/s by plan).
    limits=RateLimitSpec(
        kind="leaky_bucket",
        capacity=1000,
        refill_per_s=100,
        source="https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits",
    ),
    webhook_verifier=ShopifyWebhookVerifier,  # built per shop with its secret(s)
    client_factory=ShopifyClient,
    mappers={
        "order_in": order_from_shopify,
        "refund_in": refund_from_shopify,
        "product_in": product_from_shopify,
        "inventory_level_in": inventory_level_from_shopify,
        "shipment_in": shipment_from_shopify,
    },
    api_version="2025-01",
    docs="https://shopify.dev/docs/api/admin-graphql",
)
