"""Shopify payloads -> canonical objects (one module per object)."""

from .fulfillment import shipment_from_shopify as shipment_from_shopify
from .inventory import inventory_level_from_shopify as inventory_level_from_shopify
from .order import address_from_shopify as address_from_shopify
from .order import order_from_shopify as order_from_shopify
from .product import product_from_shopify as product_from_shopify
from .refund import refund_from_shopify as refund_from_shopify

__all__ = [
    "address_from_shopify",
    "inventory_level_from_shopify",
    "order_from_shopify",
    "product_from_shopify",
    "refund_from_shopify",
    "shipment_from_shopify",
]
