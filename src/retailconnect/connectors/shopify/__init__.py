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

__all__ = [
    "CLI_MAPPERS",
    "TOPICS",
    "ShopifyClient",
    "ShopifyWebhookVerifier",
    "address_from_shopify",
    "inventory_level_from_shopify",
    "order_from_shopify",
    "parse_webhook",
    "product_from_shopify",
    "refund_from_shopify",
    "shipment_from_shopify",
    "sign",
    "spec",
]
