from __future__ import annotations

import hashlib
import hmac

import pytest

from retailconnect.connectors.wms import WmsWebhookVerifier, sign_wms
from retailconnect.errors import WebhookSignatureError

BODY = b'{"id":"evt_1","type":"stock.movement"}'
NOW = 1_800_000_000


def headers(sig: str) -> dict[str, str]:
    return {"x-wms-signature": sig, "X-WMS-Event-Id": "evt_1", "X-WMS-Event-Type": "stock.movement",
            "X-WMS-Warehouse": "MAIN"}  # fmt: skip


def verifier(secret: str | list[str] = "s3cret") -> WmsWebhookVerifier:
    return WmsWebhookVerifier(secret, clock=lambda: NOW)


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_wms("s3cret", BODY, NOW) == f"t={NOW},v1={expected}"


def test_valid_delivery() -> None:
    d = verifier().verify(headers(sign_wms("s3cret", BODY, NOW)), BODY)
    assert (d.delivery_id, d.topic, d.source) == ("evt_1", "stock.movement", "MAIN")
    assert d.occurred_at is not None and int(d.occurred_at.timestamp()) == NOW


@pytest.mark.parametrize(
    "sig,body",
    [
        (sign_wms("other-secret", BODY, NOW), BODY),  # forged
        (sign_wms("s3cret", BODY, NOW), BODY + b" "),  # body changed
        (sign_wms("s3cret", BODY, NOW - 301), BODY),  # replay outside the window
        ("v1=abc", BODY),  # no timestamp
        ("", BODY),
    ],
)
def test_refused(sig: str, body: bytes) -> None:
    with pytest.raises(WebhookSignatureError):
        verifier().verify(headers(sig), body)


def test_rotation_any_secret_and_any_v1_matches() -> None:
    new = sign_wms("new", BODY, NOW)
    old = sign_wms("old", BODY, NOW).split(",")[1]
    assert verifier(["old"]).verify(headers(f"{new},{old}"), BODY).delivery_id == "evt_1"
    assert verifier(["new", "old"]).verify(headers(sign_wms("old", BODY, NOW)), BODY).delivery_id == "evt_1"


def test_missing_event_id_is_refused() -> None:
    h = headers(sign_wms("s3cret", BODY, NOW))
    del h["X-WMS-Event-Id"]
    with pytest.raises(WebhookSignatureError):
        verifier().verify(h, BODY)
