"""Webhook verification: a known vector (computed with openssl), forged and malformed signatures, rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retailconnect.canonical import InventoryLevel, Order, Product, Refund, Shipment
from retailconnect.connectors.shopify import ShopifyWebhookVerifier, parse_webhook, sign
from retailconnect.errors import InputError, WebhookSignatureError

FIX = Path(__file__).parents[4] / "tests" / "fixtures" / "shopify"
BODY = b'{"id":820982911946154508,"email":"jon@doe.ca"}'
# printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'my_secret' -binary | base64
KNOWN = "74/XQjiVyGX9b1zPqIKv83NUnvBva05VJq3qYrutvRM="


def headers(sig: str, **extra: str) -> dict[str, str]:
    return {
        "x-shopify-hmac-sha256": sig,
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "jsmith.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2025-03-01T12:00:00.066647883Z",
        **extra,
    }


def test_sign_matches_openssl_vector() -> None:
    assert sign("my_secret", BODY) == KNOWN


def test_verify_known_vector_returns_delivery() -> None:
    d = ShopifyWebhookVerifier("my_secret").verify(headers(KNOWN), BODY)
    assert d.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert d.topic == "orders/create"
    assert d.source == "jsmith.myshopify.com"
    assert d.api_version == "2025-01"
    assert d.occurred_at is not None and d.occurred_at.tzinfo is not None and d.occurred_at.year == 2025


@pytest.mark.parametrize(
    "sig",
    [
        sign("other_secret", BODY),  # signed with another key
        KNOWN[:-2] + "A=",  # one byte off
        "not base64 at all!",
        "",
    ],
)
def test_forged_or_malformed_signature_is_refused(sig: str) -> None:
    with pytest.raises(WebhookSignatureError):
        ShopifyWebhookVerifier("my_secret").verify(headers(sig), BODY)


def test_body_tampering_is_refused() -> None:
    with pytest.raises(WebhookSignatureError):
        ShopifyWebhookVerifier("my_secret").verify(headers(KNOWN), BODY.replace(b"jon", b"bob"))


def test_missing_header_is_refused() -> None:
    h = headers(KNOWN)
    del h["x-shopify-hmac-sha256"]
    with pytest.raises(WebhookSignatureError):
        ShopifyWebhookVerifier("my_secret").verify(h, BODY)


def test_secret_rotation_accepts_either_secret() -> None:
    v = ShopifyWebhookVerifier(["new_secret", "my_secret"])
    assert v.verify(headers(KNOWN), BODY).topic == "orders/create"


def test_signed_but_no_webhook_id_is_input_error() -> None:
    h = headers(KNOWN)
    del h["X-Shopify-Webhook-Id"]
    with pytest.raises(InputError):
        ShopifyWebhookVerifier("my_secret").verify(h, BODY)


@pytest.mark.parametrize(
    ("topic", "fixture", "kind"),
    [
        ("orders/create", "order_webhook_orders_create_2022-04.json", Order),
        ("orders/paid", "order_webhook_orders_create_2022-04.json", Order),
        ("orders/cancelled", "order_webhook_orders_create_2022-04.json", Order),
        ("refunds/create", "refund_rest_509562969.json", Refund),
        ("products/update", "product_webhook_products_update.json", Product),
        ("inventory_levels/update", "inventory_level_webhook_inventory_levels_update.json", InventoryLevel),
    ],
)
def test_parse_webhook_dispatches_by_topic(topic: str, fixture: str, kind: type) -> None:
    assert isinstance(parse_webhook(topic, json.loads((FIX / fixture).read_text())), kind)


def test_parse_webhook_fulfillment() -> None:
    body = {
        "id": 4451, "order_id": 450789469, "status": "success", "created_at": "2025-04-02T11:38:34-05:00",
        "tracking_company": "UPS", "tracking_number": "1Z2345", "tracking_numbers": ["1Z2345"],
        "tracking_url": "https://www.ups.com/track?tracknum=1Z2345", "name": "#1001.1",
        "line_items": [{"id": 466157049, "sku": "IPOD2008GREEN", "quantity": 1}],
    }  # fmt: skip
    s = parse_webhook("fulfillments/create", body)
    assert isinstance(s, Shipment)
    assert (s.tracking_number, s.carrier, s.order_number) == ("1Z2345", "UPS", "#1001")


def test_parse_webhook_unknown_topic() -> None:
    with pytest.raises(InputError):
        parse_webhook("carts/create", {})
