"""Vendor webhooks: signature over the raw body, archive + dedupe, fast answer, background hand-off,
recovery of accepted deliveries that were not handed off."""

from __future__ import annotations

import asyncio
import json

from retailconnect.errors import TransientError

BODY = json.dumps({"id": 820982911946154508, "name": "#1001", "email": "jon@example.com"}).encode()


def _headers(signer, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", body=BODY, topic="orders/create"):
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signer(body),
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2025-01",
    }


async def _settle(client) -> None:
    await client.app.state.gateway.webhooks.drain()


async def test_verified_webhook_is_archived_and_handed_off(client, hub, signer):
    r = await client.post("/v1/channels/shopify/acme/webhooks", content=BODY, headers=_headers(signer))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "accepted": True, "duplicate": False, "delivery_id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "topic": "orders/create",
    }  # fmt: skip
    await _settle(client)
    assert hub.ingested == [("shopify", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "brand-a")]
    row = hub.archive.search("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")[0]
    assert row["body"] == BODY and row["status"] == "processed" and row["tenant"] == "brand-a"


async def test_duplicate_delivery_is_acknowledged_once(client, hub, signer):
    for _ in range(3):
        r = await client.post("/v1/channels/shopify/acme/webhooks", content=BODY, headers=_headers(signer))
        assert r.status_code == 200
    await _settle(client)
    assert r.json()["duplicate"] is True
    assert len(hub.ingested) == 1


async def test_bad_signature_is_401_problem_and_nothing_archived(client, hub, signer):
    h = _headers(signer)
    h["X-Shopify-Hmac-Sha256"] = signer(BODY + b" ")
    r = await client.post("/v1/channels/shopify/acme/webhooks", content=BODY, headers=h)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/webhook_signature_invalid")
    assert hub.archive.pending() == [] and hub.ingested == []


async def test_unconfigured_system_is_404_and_non_object_body_is_422(make_client, signer):
    from retailconnect.gateway import GatewaySettings

    client = await make_client(GatewaySettings(webhook_systems={"shopify/ghost": "no-such-system"}))
    r = await client.post("/v1/channels/shopify/ghost/webhooks", content=BODY, headers=_headers(signer))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await client.post(
        "/v1/channels/shopify/acme/webhooks", content=b"[1]", headers=_headers(signer, body=b"[1]")
    )
    assert r.status_code == 422


async def test_transient_handoff_failure_is_recovered(client, hub, signer):
    hub.ingest_fail = TransientError("flows busy")
    r = await client.post("/v1/channels/shopify/acme/webhooks", content=BODY, headers=_headers(signer, "w-2"))
    assert r.status_code == 200
    await _settle(client)
    assert hub.ingested == [] and len(hub.archive.pending()) == 1
    hub.ingest_fail = None
    n = await client.app.state.gateway.webhooks.recover(older_than_s=0)
    assert n == 1 and hub.ingested[0][2] == "w-2" and hub.archive.pending() == []


async def test_webhook_answers_fast_while_handoff_is_slow(client, hub, signer):
    async def slow(*a, **k):
        await asyncio.sleep(1.0)

    hub.ingest_channel_webhook = slow
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    r = await client.post("/v1/channels/shopify/acme/webhooks", content=BODY, headers=_headers(signer, "w-3"))
    assert r.status_code == 200 and loop.time() - t0 < 0.5
