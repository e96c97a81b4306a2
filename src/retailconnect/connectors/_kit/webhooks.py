"""Webhook verification protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """What a verified webhook delivery tells us before we parse its body."""

    delivery_id: str  # for de-duplication (X-Shopify-Webhook-Id, ...)
    topic: str
    source: str  # shop domain, account, warehouse id
    occurred_at: datetime | None = None
    api_version: str | None = None


class WebhookVerifier(Protocol):
    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        """Return the delivery or raise WebhookSignatureError. Header names are case-insensitive."""
        ...
