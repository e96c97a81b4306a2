"""WMS webhook signatures: ``X-WMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>``.

Several ``v1=`` entries may appear (secret rotation); one match is enough. The timestamp must be within
``tolerance_s`` of now (replay window). ``X-WMS-Event-Id`` is the delivery id for de-duplication (the
same on every retry of one event), ``X-WMS-Event-Type`` the topic, ``X-WMS-Warehouse`` the source.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from retailconnect.connectors._kit import Delivery
from retailconnect.errors import WebhookSignatureError

__all__ = ["SIGNATURE_HEADER", "WmsWebhookVerifier", "sign_wms"]

SIGNATURE_HEADER = "X-WMS-Signature"
EVENT_ID_HEADER = "X-WMS-Event-Id"
EVENT_TYPE_HEADER = "X-WMS-Event-Type"
WAREHOUSE_HEADER = "X-WMS-Warehouse"


def sign_wms(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-WMS-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class WmsWebhookVerifier:
    def __init__(
        self, secret: str | list[str], *, tolerance_s: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._secrets = [secret] if isinstance(secret, str) else list(secret)
        if not self._secrets or not all(self._secrets):
            raise ValueError("a WMS webhook secret is required")
        self.tolerance_s = tolerance_s
        self._clock = clock

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        h = {k.lower(): v for k, v in headers.items()}
        sig = h.get(SIGNATURE_HEADER.lower())
        if not sig:
            raise WebhookSignatureError("missing X-WMS-Signature header", context={"system": "wms"})
        ts: int | None = None
        candidates: list[str] = []
        for part in sig.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                try:
                    ts = int(value)
                except ValueError:
                    ts = None
            elif key == "v1" and value:
                candidates.append(value)
        if ts is None or not candidates:
            raise WebhookSignatureError("malformed X-WMS-Signature header", context={"system": "wms"})
        if abs(self._clock() - ts) > self.tolerance_s:
            raise WebhookSignatureError(
                "X-WMS-Signature timestamp outside the replay window",
                context={"system": "wms", "timestamp": ts},
            )
        signed = f"{ts}.".encode() + raw_body
        ok = any(
            hmac.compare_digest(hmac.new(s.encode(), signed, hashlib.sha256).hexdigest(), c)
            for s in self._secrets
            for c in candidates
        )
        if not ok:
            raise WebhookSignatureError("X-WMS-Signature does not match the body", context={"system": "wms"})
        event_id = h.get(EVENT_ID_HEADER.lower())
        topic = h.get(EVENT_TYPE_HEADER.lower())
        if not event_id or not topic:
            raise WebhookSignatureError(
                "missing X-WMS-Event-Id or X-WMS-Event-Type", context={"system": "wms"}
            )
        return Delivery(
            delivery_id=event_id,
            topic=topic,
            source=h.get(WAREHOUSE_HEADER.lower(), ""),
            occurred_at=datetime.fromtimestamp(ts, UTC),
        )
