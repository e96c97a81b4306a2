"""Inbound Shopify webhooks: HMAC verification (X-Shopify-Hmac-Sha256) and topic -> mapper dispatch.

Shopify signs the raw body with the app's client secret: base64(HMAC-SHA256(secret, raw_body)). Several secrets
may be given during a rotation; any one matching is enough. The caller acknowledges fast (Shopify counts a
delivery not answered 2xx within 5 s as failed and retries it 8 times over 4 hours) and de-duplicates on
``Delivery.delivery_id`` (X-Shopify-Webhook-Id); deliveries are not ordered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from retailconnect.connectors._kit import Delivery, MapContext
from retailconnect.errors import InputError, WebhookSignatureError

from .mappers import (
    inventory_level_from_shopify,
    order_from_shopify,
    product_from_shopify,
    refund_from_shopify,
    shipment_from_shopify,
)

__all__ = ["TOPICS", "ShopifyWebhookVerifier", "parse_webhook", "sign"]


def sign(secret: str, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    for k, v in headers.items():
        if k.lower() == low:
            return v
    return None


class ShopifyWebhookVerifier:
    """Implements connectors._kit.WebhookVerifier for Shopify."""

    def __init__(self, secret: str | list[str]) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets or any(not s for s in secrets):
            raise ValueError("a Shopify webhook secret is required")
        self._secrets = [s.encode() for s in secrets]

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        given = _header(headers, "X-Shopify-Hmac-Sha256")
        if not given:
            raise WebhookSignatureError("missing X-Shopify-Hmac-Sha256", context={"system": "shopify"})
        try:
            given_raw = base64.b64decode(given.strip(), validate=True)
        except (ValueError, TypeError):
            raise WebhookSignatureError(
                "malformed X-Shopify-Hmac-Sha256", context={"system": "shopify"}
            ) from None
        ok = False
        for s in self._secrets:
            expect = hmac.new(s, raw_body, hashlib.sha256).digest()
            ok = hmac.compare_digest(expect, given_raw) or ok
        if not ok:
            raise WebhookSignatureError(
                "X-Shopify-Hmac-Sha256 does not match the body", context={"system": "shopify"}
            )
        topic = _header(headers, "X-Shopify-Topic")
        webhook_id = _header(headers, "X-Shopify-Webhook-Id") or _header(headers, "X-Shopify-Event-Id")
        if not topic or not webhook_id:
            missing = "X-Shopify-Topic" if not topic else "X-Shopify-Webhook-Id"
            raise InputError(f"missing {missing} header", context={"system": "shopify", "header": missing})
        occurred = None
        trig = _header(headers, "X-Shopify-Triggered-At")
        if trig:
            try:
                occurred = datetime.fromisoformat(trig.replace("Z", "+00:00"))
                if occurred.tzinfo is None:
                    occurred = None
            except ValueError:
                occurred = None
        return Delivery(
            delivery_id=webhook_id,
            topic=topic,
            source=_header(headers, "X-Shopify-Shop-Domain") or "",
            occurred_at=occurred,
            api_version=_header(headers, "X-Shopify-API-Version"),
        )


TOPICS: dict[str, Callable[[Any, MapContext], Any]] = {
    "orders/create": order_from_shopify,
    "orders/updated": order_from_shopify,
    "orders/cancelled": order_from_shopify,
    "orders/paid": order_from_shopify,
    "orders/fulfilled": order_from_shopify,
    "refunds/create": refund_from_shopify,
    "fulfillments/create": shipment_from_shopify,
    "fulfillments/update": shipment_from_shopify,
    "inventory_levels/update": inventory_level_from_shopify,
    "products/create": product_from_shopify,
    "products/update": product_from_shopify,
}


def parse_webhook(topic: str, payload: Any, ctx: MapContext | None = None) -> Any:
    """Map a verified delivery's JSON body to its canonical object (Order, Refund, Shipment, ...)."""
    fn = TOPICS.get(topic)
    if fn is None:
        raise InputError(f"unsupported Shopify webhook topic {topic!r}", context={"topic": topic})
    return fn(payload, ctx or MapContext())
