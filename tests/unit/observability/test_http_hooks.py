from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from retailconnect.observability.http_hooks import InstrumentedTransport, MetricsMiddleware
from retailconnect.observability.metrics import HubMetrics
from retailconnect.observability.tracing import CORRELATION_ATTR, Tracing


class Principal:
    consumer = "pos-eu"


async def test_request_latency_by_route_template_and_consumer_and_one_trace() -> None:
    metrics, mem = HubMetrics(), InMemorySpanExporter()
    tracing = Tracing(exporters=[mem])
    seen_headers: list[httpx.Headers] = []

    def vendor_handler(request: httpx.Request) -> httpx.Response:
        seen_headers.append(request.headers)
        return httpx.Response(503 if request.url.path.endswith("/2") else 200, json={})

    vendor = httpx.AsyncClient(
        transport=InstrumentedTransport(
            httpx.MockTransport(vendor_handler), system="netsuite", metrics=metrics, tracing=tracing
        )
    )
    app = FastAPI()

    @app.get("/v1/orders/{order_id}")
    async def get_order(order_id: str) -> dict[str, str]:
        with tracing.span("flow.lookup"):
            r = await vendor.get(f"https://erp.example/orders/{order_id}?token=secret")
        return {"id": order_id, "erp": str(r.status_code)}

    app.add_middleware(MetricsMiddleware, metrics=metrics, tracing=tracing)

    class Auth:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                scope.setdefault("state", {})["principal"] = Principal()
            await self.app(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Auth(app)), base_url="http://hub") as c:
        r1 = await c.get("/v1/orders/1", headers={"x-correlation-id": "corr-1"})
        r2 = await c.get("/v1/orders/2")
        r3 = await c.get("/nope")
    assert r1.status_code == 200 and r2.json()["erp"] == "503" and r3.status_code == 404

    labels = {"route": "/v1/orders/{order_id}", "method": "GET", "consumer": "pos-eu"}
    assert metrics.counter_value("retailconnect_api_request_duration_seconds_count", labels) == 2
    assert (
        metrics.counter_value("retailconnect_api_errors_total", {"route": "<unmatched>", "status": "404"})
        == 1
    )
    assert (
        metrics.counter_value("retailconnect_connector_errors_total", {"system": "netsuite", "kind": "5xx"})
        == 1
    )
    assert (
        metrics.counter_value(
            "retailconnect_connector_request_duration_seconds_count", {"system": "netsuite"}
        )
        == 2
    )

    spans = [s for s in mem.get_finished_spans() if s.attributes.get(CORRELATION_ATTR) == "corr-1"]
    assert sorted(s.name for s in spans) == ["GET /v1/orders/{order_id}", "flow.lookup", "netsuite GET"]
    assert len({s.context.trace_id for s in spans}) == 1
    client_span = next(s for s in spans if s.name == "netsuite GET")
    assert client_span.attributes["url.full"] == "https://erp.example/orders/1"  # no query (token)
    trace_hex = format(client_span.context.trace_id, "032x")
    assert trace_hex in seen_headers[0]["traceparent"]  # propagated to the vendor
    # a request without a correlation id gets one generated and still gets a trace
    generated = [s for s in mem.get_finished_spans() if s.name == "GET /v1/orders/{order_id}"][1]
    assert len(generated.attributes[CORRELATION_ATTR]) == 36


async def test_transport_errors_are_counted_and_reraised() -> None:
    metrics = HubMetrics()

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.AsyncClient(
        transport=InstrumentedTransport(httpx.MockTransport(broken), system="wms", metrics=metrics)
    )
    try:
        await client.get("https://wms.example/x")
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("expected ConnectError")
    assert (
        metrics.counter_value("retailconnect_connector_errors_total", {"system": "wms", "kind": "transport"})
        == 1
    )


async def test_lifespan_hooks_and_untraced_dashboard_paths() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    calls: list[str] = []

    async def up() -> None:
        calls.append("start")

    async def down() -> None:
        calls.append("stop")

    metrics, mem = HubMetrics(), InMemorySpanExporter()
    app = FastAPI()

    @app.get("/dashboard/ops")
    async def ops() -> dict[str, str]:
        return {}

    app.add_middleware(
        MetricsMiddleware, metrics=metrics, tracing=Tracing(exporters=[mem]), on_startup=up, on_shutdown=down
    )
    # drive the ASGI lifespan protocol through the middleware
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict] = []

    async def receive():
        return next(messages)

    async def send(m):
        sent.append(m)

    mw = app.build_middleware_stack()
    await mw({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert calls == ["start", "stop"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        assert (await c.get("/dashboard/ops")).status_code == 200
    assert metrics.counter_value("retailconnect_api_requests_total", {"route": "/dashboard/ops"}) == 1
    assert mem.get_finished_spans() == ()  # the UI is measured, not traced


async def test_webhook_signature_failures_are_counted_from_the_answers() -> None:
    from fastapi import HTTPException

    metrics = HubMetrics()
    app = FastAPI()

    @app.post("/v1/channels/shopify/{shop}/webhooks")
    async def hook(shop: str, ok: bool = True) -> dict[str, str]:
        if not ok:
            raise HTTPException(401, "bad signature")
        return {}

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        await c.post(
            "/v1/channels/shopify/acme.myshopify.com/webhooks", headers={"X-Shopify-Topic": "orders/create"}
        )
        await c.post("/v1/channels/shopify/acme.myshopify.com/webhooks?ok=false")
    assert (
        metrics.counter_value("retailconnect_webhooks_signature_failures_total", {"system": "shopify"}) == 1
    )
    assert metrics.counter_value("retailconnect_webhooks_received_total", {"topic": "orders/create"}) == 1
