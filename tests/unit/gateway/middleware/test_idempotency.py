"""Idempotency-Key: same key+body replays, other body is 422, in flight is 409, errors release the key."""

from __future__ import annotations

import asyncio


async def test_same_key_same_body_replays_stored_answer(client, keys, hub, order_body):
    h = {"X-API-Key": keys.writer_a, "Idempotency-Key": "abc"}
    r1 = await client.post("/v1/orders", json=order_body(), headers=h)
    r2 = await client.post("/v1/orders", json=order_body(), headers=h)
    assert r1.status_code == r2.status_code == 202
    assert r2.json() == r1.json()
    assert r2.headers["idempotent-replayed"] == "true"
    assert len(hub.captured) == 1  # the hub ran once


async def test_same_key_other_body_is_422(client, keys, hub, order_body):
    h = {"X-API-Key": keys.writer_a, "Idempotency-Key": "abc"}
    assert (await client.post("/v1/orders", json=order_body(), headers=h)).status_code == 202
    r = await client.post("/v1/orders", json=order_body(number="2002"), headers=h)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/idempotency_key_reused")
    assert len(hub.captured) == 1


async def test_in_flight_is_409(client, keys, hub, order_body):
    hub.capture_delay = 0.3
    h = {"X-API-Key": keys.writer_a, "Idempotency-Key": "slow"}
    first = asyncio.create_task(client.post("/v1/orders", json=order_body(), headers=h))
    await asyncio.sleep(0.1)
    r = await client.post("/v1/orders", json=order_body(), headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/idempotency_key_in_flight")
    assert r.headers["retry-after"] == "1"
    assert (await first).status_code == 202


async def test_keys_are_scoped_per_consumer(client, keys, hub, order_body):
    await client.post(
        "/v1/orders", json=order_body(), headers={"X-API-Key": keys.writer_a, "Idempotency-Key": "k"}
    )
    r = await client.post(
        "/v1/orders",
        json=order_body(number="9"),
        headers={"X-API-Key": keys.writer_b, "Idempotency-Key": "k"},
    )
    assert r.status_code == 202  # another consumer's key space


async def test_refusals_and_server_errors_release_the_key(client, keys, hub, order_body):
    h = {"X-API-Key": keys.writer_a, "Idempotency-Key": "boom"}

    async def boom(*a, **k):
        raise RuntimeError("down")

    real = hub.capture_order
    hub.capture_order = boom
    assert (await client.post("/v1/orders", json=order_body(), headers=h)).status_code == 500
    hub.capture_order = real
    r = await client.post("/v1/orders", json=order_body(), headers=h)
    assert r.status_code == 202 and "idempotent-replayed" not in r.headers
    # a validation failure is a final answer and is replayed
    h2 = {"X-API-Key": keys.writer_a, "Idempotency-Key": "bad"}
    bad = order_body(lines=[])
    assert (await client.post("/v1/orders", json=bad, headers=h2)).status_code == 422
    r = await client.post("/v1/orders", json=bad, headers=h2)
    assert r.status_code == 422 and r.headers["idempotent-replayed"] == "true"
