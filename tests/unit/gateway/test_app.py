"""Policy chain: authentication, scopes, tenant isolation, problem+json, correlation, limits, audit."""

from __future__ import annotations

import json
import time

import httpx
import jwt as pyjwt
import pytest

from retailconnect.gateway import GatewaySettings, JwtSettings
from retailconnect.gateway.problems import PROBLEM_MEDIA_TYPE


def _problem(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://retailconnect.dev/problems/")
    assert body["title"]
    assert body["correlation_id"] == r.headers["x-correlation-id"]
    if code:
        assert body["type"].endswith("/" + code), body
    return body


async def test_order_capture_accepted_then_duplicate(client, keys, hub, order_body):
    h = {"X-API-Key": keys.writer_a}
    r = await client.post("/v1/orders", json=order_body(), headers=h)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["id"] and body["workflow_id"] == "order:brand-a:web:1001"
    r2 = await client.post(
        "/v1/orders", json=order_body(), headers={"Authorization": f"Bearer {keys.writer_a}"}
    )
    assert r2.status_code == 200 and r2.json()["status"] == "duplicate" and r2.json()["id"] == body["id"]
    assert hub.captured[0][0] == "brand-a"


async def test_order_rejected_is_problem_with_reasons(client, keys, order_body):
    r = await client.post("/v1/orders", json=order_body(sku="UNKNOWN"), headers={"X-API-Key": keys.writer_a})
    body = _problem(r, 422, "invalid_input")
    assert body["reasons"] == ["line 1: unknown SKU UNKNOWN"]


async def test_strict_validation_lists_errors_and_forbids_extra_fields(client, keys, order_body):
    bad = order_body(surprise="field")
    bad["lines"][0]["quantity"] = -1
    r = await client.post("/v1/orders", json=bad, headers={"X-API-Key": keys.writer_a})
    body = _problem(r, 422, "invalid_input")
    pointers = {e["pointer"] for e in body["errors"]}
    assert "body:/surprise" in pointers and "body:/lines/0/quantity" in pointers


@pytest.mark.parametrize(
    ("key_attr", "method", "path", "status"),
    [
        (None, "GET", "/v1/availability?sku=A", 401),
        ("writer_a", "GET", "/v1/availability?sku=A", 403),
        ("reader_a", "GET", "/v1/availability?sku=A", 200),
        ("reader_a", "POST", "/v1/orders", 403),
        ("reader_a", "GET", "/v1/ops/flows", 403),
        ("ops_a", "GET", "/v1/ops/flows", 200),
        ("ops_a", "POST", "/v1/ops/flows/order:brand-a:shopify:1001/retry", 403),
        ("admin_all", "POST", "/v1/ops/flows/order:brand-b:shopify:2001/retry", 200),
        ("no_scope_a", "GET", "/v1/prices/A", 403),
        ("reader_a", "GET", "/v1/prices/A", 200),
    ],
)
async def test_auth_scope_matrix(client, keys, order_body, key_attr, method, path, status):
    headers = {"X-API-Key": getattr(keys, key_attr)} if key_attr else {}
    body = order_body() if method == "POST" and path == "/v1/orders" else None
    r = await client.request(method, path, headers=headers, json=body)
    if status >= 400:
        _problem(r, status)
        if status == 401:
            assert "WWW-Authenticate" in r.headers
    else:
        assert r.status_code == status, r.text


async def test_bad_or_revoked_key_is_401(client, keys, store):
    _problem(await client.get("/v1/prices/A", headers={"X-API-Key": "rc_nope_nope"}), 401, "unauthenticated")
    from retailconnect.gateway import ConsumerStore

    ConsumerStore(store).revoke("storefront-a")
    client.app.state.gateway.consumers._cache.clear()
    _problem(await client.get("/v1/prices/A", headers={"X-API-Key": keys.reader_a}), 401)


async def test_tenant_isolation(client, keys, hub, order_body):
    # brand B cannot write an order for brand A
    r = await client.post(
        "/v1/orders", json=order_body(tenant="brand-a"), headers={"X-API-Key": keys.writer_b}
    )
    _problem(r, 403, "forbidden")
    assert hub.captured == []
    # each brand reads its own figures
    ra = await client.get("/v1/availability?sku=A", headers={"X-API-Key": keys.reader_a})
    rb = await client.get("/v1/availability?sku=A", headers={"X-API-Key": keys.writer_b})
    assert ra.json()["available"] == 7 and rb.json()["available"] == 70
    # brand B does not find brand A's customer; ops views filter by tenant
    _problem(
        await client.get("/v1/customers?email=ann@example.com", headers={"X-API-Key": keys.writer_b}), 404
    )
    flows = (await client.get("/v1/ops/flows", headers={"X-API-Key": keys.writer_b})).json()["items"]
    assert [f["workflow_id"] for f in flows] == ["order:brand-b:shopify:2001"]
    exc = (await client.get("/v1/ops/exceptions", headers={"X-API-Key": keys.writer_b})).json()["items"]
    assert [e["id"] for e in exc] == [2]
    _problem(await client.get("/v1/ops/exceptions/1", headers={"X-API-Key": keys.writer_b}), 404)
    _problem(
        await client.get("/v1/ops/flows/order:brand-a:shopify:1001", headers={"X-API-Key": keys.writer_b}),
        404,
    )
    dlq = (await client.get("/v1/ops/dlq", headers={"X-API-Key": keys.writer_b})).json()
    assert dlq["count"] == 0
    allx = (await client.get("/v1/ops/exceptions", headers={"X-API-Key": keys.admin_all})).json()
    assert allx["count"] == 2


async def test_resolve_exception_records_actor(client, keys, hub):
    r = await client.post(
        "/v1/ops/exceptions/2/resolve",
        json={"action": "skip", "note": "ok"},
        headers={"X-API-Key": keys.admin_all},
    )
    assert r.status_code == 200, r.text
    assert hub.exceptions.resolved == [(2, "skip", "ops-admin")]
    r = await client.post("/v1/ops/dlq/d1/replay", headers={"X-API-Key": keys.admin_all})
    assert r.json()["result"]["count"] == 1


async def test_problem_json_for_404_405_and_500(client, keys, hub):
    _problem(await client.get("/v1/nowhere"), 404, "not_found")
    _problem(await client.delete("/v1/orders", headers={"X-API-Key": keys.writer_a}), 405)

    async def boom(*a, **k):
        raise RuntimeError("secret internals")

    hub.price_check = boom
    r = await client.get("/v1/prices/A", headers={"X-API-Key": keys.reader_a})
    body = _problem(r, 500, "internal")
    assert "secret internals" not in r.text and body["correlation_id"]


async def test_correlation_id_echo_and_traceparent(client, keys, hub, order_body):
    r = await client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert r.headers["x-correlation-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Correlation-ID": "bad id with spaces"})
    assert r.headers["x-correlation-id"] != "bad id with spaces" and len(r.headers["x-correlation-id"]) == 32
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = await client.post(
        "/v1/orders", json=order_body(), headers={"X-API-Key": keys.writer_a, "traceparent": tp}
    )
    assert r.headers["x-correlation-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    out = r.headers["traceparent"].split("-")
    assert out[1] == "4bf92f3577b34da6a3ce929d0e0e4736" and out[2] != "00f067aa0ba902b7"
    assert hub.captured[-1][1] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_body_size_limit(make_client, keys, order_body):
    client = await make_client(GatewaySettings(max_body_bytes=600))
    r = await client.post("/v1/orders", json=order_body(), headers={"X-API-Key": keys.writer_a})
    _problem(r, 413, "payload_too_large")

    async def chunks():
        for _ in range(10):
            yield b"x" * 100

    r = await client.post(
        "/v1/orders", content=chunks(), headers={"X-API-Key": keys.writer_a, "Idempotency-Key": "k1"}
    )
    _problem(r, 413)


async def test_deprecated_route_headers(client, keys):
    r = await client.get("/v1/channels/web/stock/A", headers={"X-API-Key": keys.reader_a})
    assert r.status_code == 200
    assert r.headers["deprecation"].startswith("@")
    assert r.headers["sunset"].endswith("GMT")
    assert 'rel="successor-version"' in r.headers["link"]
    r = await client.get("/v1/channels/web/availability?sku=A", headers={"X-API-Key": keys.reader_a})
    assert "deprecation" not in r.headers and r.json()["in_stock"] is True
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]["/v1/channels/{channel}/stock/{sku}"]["get"]["deprecated"] is True


async def test_audit_entry_per_call_without_personal_data(client, keys, hub):
    r = await client.get("/v1/customers?email=ann@example.com", headers={"X-API-Key": keys.reader_a})
    assert r.status_code == 200 and r.json()["customer"]["id"] == "c1"
    await client.get("/v1/prices/A", headers={"X-API-Key": "rc_bad_key"})
    await client.app.state.gateway.audit.flush()
    entries = hub.audit.entries()
    text = json.dumps(entries, default=str)
    assert "ann@example.com" not in text and "Ann" not in text
    mine = [e for e in entries if e["actor"] == "storefront-a"]
    assert mine and mine[0]["details"]["route"] == "/v1/customers"
    d = mine[0]["details"]
    assert (
        d["status"] == 200 and d["correlation_id"] == r.headers["x-correlation-id"] and d["latency_ms"] >= 0
    )
    assert any(e["actor"] == "anonymous" and e["details"]["status"] == 401 for e in entries)
    assert hub.audit.verify().ok


async def test_jwt_client_credentials(make_client, hub):
    secret = "x" * 32
    client = await make_client(
        GatewaySettings(jwt=JwtSettings(key=secret, algorithms=("HS256",), audience="rc"))
    )
    now = int(time.time())
    good = pyjwt.encode(
        {"client_id": "partner", "tenant": "brand-a", "scope": "availability:read prices:read", "aud": "rc",
         "exp": now + 60}, secret, algorithm="HS256",
    )  # fmt: skip
    r = await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 200 and r.json()["available"] == 7
    scp = pyjwt.encode(
        {"sub": "p2", "tenant": "brand-a", "scp": ["ops:read"], "aud": "rc", "exp": now + 60},
        secret,
        algorithm="HS256",
    )
    _problem(await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {scp}"}), 403)
    expired = pyjwt.encode(
        {"sub": "p", "tenant": "brand-a", "scope": "availability:read", "aud": "rc", "exp": now - 300},
        secret, algorithm="HS256",
    )  # fmt: skip
    _problem(await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {expired}"}), 401)
    wrong_aud = pyjwt.encode(
        {"sub": "p", "tenant": "brand-a", "scope": "availability:read", "aud": "x", "exp": now + 60},
        secret, algorithm="HS256",
    )  # fmt: skip
    _problem(
        await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {wrong_aud}"}), 401
    )


async def test_health_and_ready(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["store"] is True


async def test_extra_router_and_middleware_are_mounted(make_client):
    from fastapi import APIRouter

    seen = []

    class Probe:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.app(scope, receive, send)

    extra = APIRouter()

    @extra.get("/metrics")
    async def metrics() -> dict:
        return {"ok": True}

    client = await make_client(extra_routers=[extra], extra_middleware=[Probe])
    assert (await client.get("/metrics")).json() == {"ok": True}
    await client.get("/v1/orders")  # 405 still seen by the outer middleware
    assert seen == ["/metrics", "/v1/orders"]


async def test_docs_and_openapi_are_served(client):
    assert (await client.get("/docs")).status_code == 200
    doc = (await client.get("/openapi.json")).json()
    post = doc["paths"]["/v1/orders"]["post"]
    assert post["security"] == [{"ApiKey": []}, {"OAuth2": []}]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert "security" not in doc["paths"]["/v1/channels/shopify/{shop}/webhooks"]["post"]
