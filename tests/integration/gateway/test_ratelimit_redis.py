"""Two gateway processes' worth of apps (each its own uvicorn server on loopback) share one rate budget
through the machine's Redis."""

from __future__ import annotations

import httpx
import pytest

from retailconnect.gateway import GatewaySettings, RateLimitSettings, create_app
from retailconnect.simulators._kit import start_in_thread


@pytest.mark.service("redis")
def test_two_instances_share_one_budget(redis_url, unique, hub, keys):
    settings = GatewaySettings(
        rate_limits=RateLimitSettings(
            default="5/minute", storage_url=redis_url, key_prefix=f"rc-test-{unique}"
        )
    )
    servers = [start_in_thread(create_app(hub, settings=settings, start_background=False)) for _ in range(2)]
    try:
        h = {"X-API-Key": keys.reader_a}
        statuses = []
        remaining = []
        with httpx.Client(timeout=5) as http:
            for i in range(8):
                r = http.get(f"{servers[i % 2].url}/v1/prices/A", headers=h)
                statuses.append(r.status_code)
                remaining.append(r.headers.get("ratelimit-remaining"))
            assert statuses == [200] * 5 + [429] * 3, statuses
            assert remaining[:5] == ["4", "3", "2", "1", "0"]
            r = http.get(f"{servers[1].url}/v1/prices/A", headers=h)
            assert (
                r.headers["content-type"] == "application/problem+json" and int(r.headers["retry-after"]) >= 1
            )
            # another consumer is not affected
            assert (
                http.get(f"{servers[0].url}/v1/prices/A", headers={"X-API-Key": keys.writer_b}).status_code
                == 403
            )
            assert (
                http.get(
                    f"{servers[0].url}/v1/availability?sku=A", headers={"X-API-Key": keys.writer_b}
                ).status_code
                == 200
            )
            assert http.get(f"{servers[0].url}/readyz").json()["checks"]["rate_limits"] is True
    finally:
        for s in servers:
            s.stop()
