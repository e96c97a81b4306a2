"""Rate limits per consumer and route (memory storage), with RateLimit headers and 429 + Retry-After."""

from __future__ import annotations

from retailconnect.gateway import GatewaySettings, RateLimitSettings


async def test_budget_per_consumer_and_route(make_client, keys):
    settings = GatewaySettings(
        rate_limits=RateLimitSettings(default="3/minute", routes={"GET /v1/prices/{sku}": "2/minute"})
    )
    client = await make_client(settings)
    h = {"X-API-Key": keys.reader_a}
    r = await client.get("/v1/prices/A", headers=h)
    assert r.status_code == 200
    assert r.headers["ratelimit-limit"] == "2" and r.headers["ratelimit-remaining"] == "1"
    assert r.headers["ratelimit-policy"] == "2;w=60"
    assert (await client.get("/v1/prices/B", headers=h)).status_code == 200  # same route template
    r = await client.get("/v1/prices/C", headers=h)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["ratelimit-remaining"] == "0"
    # another route has its own budget (the default, 3)
    r = await client.get("/v1/availability?sku=A", headers=h)
    assert r.status_code == 200 and r.headers["ratelimit-limit"] == "3"
    # another consumer has its own budget on the same route
    assert (
        await client.get("/v1/availability?sku=A", headers={"X-API-Key": keys.writer_b})
    ).status_code == 200


async def test_tier_by_consumer_name(make_client, keys):
    client = await make_client(
        GatewaySettings(
            rate_limits=RateLimitSettings(default="100/minute", tiers={"storefront-a": "1/minute"})
        )
    )
    h = {"X-API-Key": keys.reader_a}
    assert (await client.get("/v1/prices/A", headers=h)).status_code == 200
    assert (await client.get("/v1/prices/A", headers=h)).status_code == 429
