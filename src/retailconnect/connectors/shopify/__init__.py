"""Shopify connector: webhooks in (HMAC verify, topic dispatch), Shopify JSON -> canonical mappers, and the
GraphQL Admin API client (inventory, fulfilments with tracking, refunds, prices, tags, reconciliation pull)
with Shopify's cost-based throttle."""

from typing import Any

from .client import ShopifyClient as ShopifyClient
from .mappers import address_from_shopify as address_from_shopify
from .mappers import inventory_level_from_shopify as inventory_level_from_shopify
from .mappers import order_from_shopify as order_from_shopify
from .mappers import product_from_shopify as product_from_shopify
from .mappers import refund_from_shopify as refund_from_shopify
from .mappers import shipment_from_shopify as shipment_from_shopify
from .mappers.outbound import export_inventory_level, export_refund, export_shipment
from .mappers.outbound import inventory_to_shopify as inventory_to_shopify
from .mappers.outbound import refund_to_shopify as refund_to_shopify
from .mappers.outbound import tracking_to_shopify as tracking_to_shopify
from .spec import spec as spec
from .webhooks import TOPICS as TOPICS
from .webhooks import ShopifyWebhookVerifier as ShopifyWebhookVerifier
from .webhooks import parse_webhook as parse_webhook
from .webhooks import sign as sign

CLI_MAPPERS: dict[str, Any] = {
    "order": order_from_shopify,
    "refund": refund_from_shopify,
    "product": product_from_shopify,
    "inventory_level": inventory_level_from_shopify,
    "shipment": shipment_from_shopify,
}

CLI_EXPORTERS: dict[str, Any] = {
    "inventory_level": export_inventory_level,
    "refund": export_refund,
    "shipment": export_shipment,
}

__all__ = [
    "CLI_EXPORTERS",
    "CLI_MAPPERS",
    "TOPICS",
    "ShopifyClient",
    "ShopifyWebhookVerifier",
    "address_from_shopify",
    "inventory_level_from_shopify",
    "inventory_to_shopify",
    "order_from_shopify",
    "parse_webhook",
    "product_from_shopify",
    "refund_from_shopify",
    "refund_to_shopify",
    "shipment_from_shopify",
    "sign",
    "spec",
    "tracking_to_shopify",
]
