"""The gateway over the real runtime.Hub (NetSuite simulator as the ERP), served by uvicorn on loopback in
the test's own event loop: order capture, a signed Shopify webhook from a published sample, ops views."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from retailconnect.config import Topology
from retailconnect.gateway import ConsumerStore, create_app
from retailconnect.runtime import Hub
from retailconnect.simulators._kit import free_port
from retailconnect.simulators.netsuite import NetSuiteSimulator

FIXTURES = Path(__file__).parents[2] / "fixtures" / "shopify"


@pytest.fixture
def netsuite() -> Any:
    sim = NetSuiteSimulator({"concurrency_limit": 10})
    sim.start()
    httpx.post(sim.url + "/_sim/items", json=[{"sku": "SKU-1", "price": "10.00"}], timeout=10)
    yield sim
    sim.stop()


@pytest.fixture
async def served(tmp_path: Path, netsuite: Any) -> AsyncIterator[tuple[str, Hub, dict[str, str]]]:
    topo = Topology.model_validate(
        {
            "tenants": {"acme": {"name": "ACME"}},
            "systems": {
                "shopify": {"kind": "shopify", "mode": "simulator", "tenant": "acme",
                            "shop_domain": "acme.myshopify.com"},
                "netsuite": {"kind": "netsuite", "mode": "simulator", "account_id": "1234567",
                             "base_url": netsuite.url},
            },
            "engines": {"store_url": f"sqlite:///{tmp_path / 'rc.db'}"},
        }
    )  # fmt: skip
    hub = await Hub.start(topo, executor_id="gw-test")
    cs = ConsumerStore(hub.store)
    keys = {
        "writer": cs.add("shop-api", tenant="acme", scopes=["orders:write"]),
        "ops": cs.add("ops", tenant="acme", scopes=["ops:read"]),
        "other": cs.add("brand-b", tenant="brand-b", scopes=["orders:write", "ops:read"]),
    }
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", hub, keys
    finally:
        server.should_exit = True
        await task
        await hub.stop()


def _order(number: str) -> dict[str, Any]:
    def m(a: str) -> dict[str, str]:
        return {"amount": a, "currency": "USD"}

    return {
        "number": number, "channel": "web", "currency": "USD", "placed_at": "2026-11-28T10:00:00Z",
        "customer": {"email": "c1@example.com"}, "external_refs": {"web": number},
        "lines": [{"sku": "SKU-1", "title": "Tee", "quantity": 1, "unit_price": m("10.00"),
                   "discount_total": m("0.00"), "tax_total": m("0.00"), "line_total": m("10.00")}],
        "totals": {"subtotal": m("10.00"), "discount_total": m("0.00"), "shipping_total": m("0.00"),
                   "tax_total": m("0.00"), "grand_total": m("10.00")},
    }  # fmt: skip


async def test_order_capture_and_ops_views_through_real_hub(served):
    url, _hub, keys = served
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        h = {"X-API-Key": keys["writer"], "X-Correlation-ID": "it-corr-1", "Idempotency-Key": "o-1"}
        r = await http.post("/v1/orders", json=_order("W-1"), headers=h)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["id"] and body["workflow_id"].startswith("order:acme:web:")
        assert r.headers["x-correlation-id"] == "it-corr-1"
        replay = await http.post("/v1/orders", json=_order("W-1"), headers=h)
        assert replay.headers.get("idempotent-replayed") == "true" and replay.json()["id"] == body["id"]
        again = await http.post("/v1/orders", json=_order("W-1"), headers={"X-API-Key": keys["writer"]})
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert again.json()["workflow_id"] == body["workflow_id"]
        flows = (await http.get("/v1/ops/flows", headers={"X-API-Key": keys["ops"]})).json()["items"]
        assert any(body["workflow_id"] in json.dumps(f) for f in flows)
        theirs = (await http.get("/v1/ops/flows", headers={"X-API-Key": keys["other"]})).json()["items"]
        assert not any(body["workflow_id"] in json.dumps(f) for f in theirs)
        ready = (await http.get("/readyz")).json()
        assert ready["checks"]["store"] is True and ready["checks"]["bus"] is True
        assert ready["checks"]["workflows"] is True


async def test_signed_shopify_webhook_is_archived_and_ingested(served):
    url, hub, _keys = served
    raw = (FIXTURES / "order_webhook_orders_create_2022-04.json").read_bytes()
    sig = base64.b64encode(hmac.new(b"sim-webhook-secret", raw, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sig,
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Triggered-At": "2026-11-28T10:00:00.000000000Z",
    }
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        r = await http.post("/v1/channels/shopify/acme.myshopify.com/webhooks", content=raw, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["duplicate"] is False
        dup = await http.post(
            "/v1/channels/shopify/acme.myshopify.com/webhooks", content=raw, headers=headers
        )
        assert dup.json()["duplicate"] is True
        bad = await http.post(
            "/v1/channels/shopify/acme.myshopify.com/webhooks", content=raw + b" ", headers=headers
        )
        assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    row = None
    for _ in range(100):
        row = hub.archive.search("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")[0]
        if row["status"] != "received":
            break
        await asyncio.sleep(0.1)
    assert row is not None and row["tenant"] == "acme"
    assert row["status"] == "processed", row.get("error")


async def test_system_read_views(served):
    url, hub, _keys = served
    key = ConsumerStore(hub.store).add("internal-bi", tenant="*", scopes=["systems:read"])
    async with httpx.AsyncClient(base_url=url, timeout=20, headers={"X-API-Key": key}) as http:
        names = {s["name"]: s["kind"] for s in (await http.get("/v1/systems")).json()}
        assert names == {"shopify": "shopify", "netsuite": "netsuite"}
        st = await http.get("/v1/systems/netsuite/status")
        assert st.status_code == 200 and st.json()["system"] == "netsuite" and st.json()["status"]
        assert (await http.get("/v1/systems/shopify/status")).status_code == 404
        hub.bindings.bind("customer", "netsuite", "c-1", "NS-42")
        ref = (await http.get("/v1/systems/netsuite/refs/customer/NS-42")).json()
        assert ref["canonical_id"] == "c-1"
        ext = (await http.get("/v1/systems/netsuite/bindings/customer/c-1")).json()
        assert ext["external_id"] == "NS-42"
